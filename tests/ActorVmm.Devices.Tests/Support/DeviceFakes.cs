using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Tests.Support;

/// <summary>An interrupt line that records its level and counts rising edges (what an edge-triggered 8259 latches).</summary>
internal sealed class RecordingInterruptLine(int irq = 0) : IInterruptLine
{
    public int Irq => irq;

    public bool Level { get; private set; }

    public int RisingEdges { get; private set; }

    public void SetLevel(bool asserted)
    {
        if (asserted && !Level)
        {
            RisingEdges++;
        }

        Level = asserted;
    }

    public void Pulse() => RisingEdges++;
}

/// <summary>Collects transmitted bytes.</summary>
internal sealed class RecordingSerialOutput : IGuestOutput
{
    public List<byte> Bytes { get; } = [];

    public void Write(ReadOnlySpan<byte> bytes) => Bytes.AddRange(bytes);
}

/// <summary>Records reset and stop requests.</summary>
internal sealed class RecordingPowerRequests : IVmPowerRequests
{
    public List<PowerRequestSource> Resets { get; } = [];

    public List<(int Status, PowerRequestSource Source)> Stops { get; } = [];

    public void RequestReset(PowerRequestSource source) => Resets.Add(source);

    public void RequestStop(int exitStatus, PowerRequestSource source) => Stops.Add((exitStatus, source));
}

/// <summary>A clock that moves only when told.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public void Advance(TimeSpan by) => _ticks += by.Ticks;
}

/// <summary>A console output the test can stall (it then refuses bytes, as a full console buffer does) and release.</summary>
internal sealed class StallableOutput : IGuestOutput
{
    private readonly List<IGuestOutputWaiter> _waiters = [];

    public List<byte> Bytes { get; } = [];

    public bool Full { get; set; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (!Full)
        {
            Bytes.AddRange(bytes);
        }
    }

    public int TryWrite(ReadOnlySpan<byte> bytes, IGuestOutputWaiter waiter)
    {
        if (Full)
        {
            if (!_waiters.Contains(waiter))
            {
                _waiters.Add(waiter);
            }

            return 0;
        }

        Bytes.AddRange(bytes);
        return bytes.Length;
    }

    /// <summary>Takes bytes again and tells every device that waited.</summary>
    public void Release()
    {
        Full = false;
        IGuestOutputWaiter[] waiting = [.. _waiters];
        _waiters.Clear();
        foreach (var waiter in waiting)
        {
            waiter.OnOutputSpaceAvailable();
        }
    }
}

/// <summary>A device mailbox that keeps what was posted (the slow path the test runs by hand).</summary>
internal sealed class RecordingMailbox : IDeviceMailbox
{
    public List<object> Posted { get; } = [];

    public void Post(object message) => Posted.Add(message);
}
