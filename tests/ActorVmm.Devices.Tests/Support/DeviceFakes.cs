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
