using ActorVmm.Devices;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Actors.Tests.Fakes;

/// <summary>Counts instances a factory built, shared across incarnations.</summary>
public sealed class InstanceLog
{
    private int _created;

    public int Created => Volatile.Read(ref _created);

    public int Next() => Interlocked.Increment(ref _created);
}

/// <summary>
/// A one-port test device: reads return its incarnation number; writing <see cref="ThrowValue"/>
/// throws on the hot path; any other write is remembered.
/// </summary>
public sealed class FlakyDevice : IDevice, ISlowPathDevice
{
    public const byte ThrowValue = 0xEE;

    /// <summary>A write the device accepts but that its state record refuses (a corrupted device).</summary>
    public const byte CorruptStateValue = 0xEF;

    /// <summary>What <see cref="WhatWasWritten"/> answers before any write.</summary>
    public const int NothingWritten = -1;

    public FlakyDevice(string name, ushort port, InstanceLog log, int lastWritten = -1)
    {
        LastWritten = lastWritten;
        Name = name;
        Incarnation = log.Next();
        Regions = [new DeviceRegion(TrapBus.Pio, port, 1)];
    }

    public string Name { get; }

    public int Incarnation { get; }

    public int LastWritten { get; private set; } = -1;

    public IReadOnlyList<DeviceRegion> Regions { get; }

    public void HandleTrap(int region, TrapAccess access)
    {
        if (!access.IsWrite)
        {
            access.SetValue((ulong)Incarnation);
            return;
        }

        if (access.Value == ThrowValue)
        {
            throw new InvalidOperationException($"{Name} was told to fail on its hot path");
        }

        LastWritten = (int)access.Value;
    }

    public void Reset() => LastWritten = -1;

    /// <summary>What the guest last wrote survives a restart: the fresh incarnation starts from it.</summary>
    public DeviceState CaptureState() => new FlakyState(LastWritten);

    /// <summary>Slow path: <see cref="Explode"/> fails it; <see cref="WhoAreYou"/> answers the incarnation.</summary>
    public object? OnSlowPath(object message) => message switch
    {
        Explode => throw new InvalidOperationException($"{Name} was told to fail on its slow path"),
        WhoAreYou => Incarnation,
        WhatWasWritten => LastWritten,
        _ => DeviceSignals.NotUnderstood.Instance,
    };

    public static DeviceDefinition Definition(string name, ushort port, InstanceLog log) =>
        new(name, context => new FlakyDevice(name, port, log, context.Restore<FlakyState>()?.LastWritten ?? -1));

    public sealed record FlakyState(int LastWritten) : DeviceState
    {
        public override void Validate() => Require(LastWritten is >= NothingWritten and <= byte.MaxValue && LastWritten != CorruptStateValue, "a port write is one byte, never the corrupt marker");
    }

    public sealed record Explode
    {
        public static Explode Instance { get; } = new();
    }

    public sealed record WhoAreYou
    {
        public static WhoAreYou Instance { get; } = new();
    }

    public sealed record WhatWasWritten
    {
        public static WhatWasWritten Instance { get; } = new();
    }
}

/// <summary>
/// A minimal console device: a write to its data port goes to the VM's console output; a read of it
/// takes the next input byte; the line status says whether the transmitter is empty and whether input
/// waits. When the console output is full the byte is held (transmitter busy) and sent from the
/// output's thread once it has room. Input lives in the context's queue, outside it.
/// </summary>
public sealed class TestConsoleDevice(DeviceContext context, ushort port) : IDevice, IConsoleInputDevice, IGuestOutputWaiter
{
    private readonly Lock _transmitLock = new();
    private byte _held;
    private bool _busy;

    public const ulong DataOffset = 0;
    public const ulong LineStatusOffset = 5;
    public const byte TransmitterEmpty = 0x60;
    public const byte DataReady = 0x01;
    public const int InputIrq = 4;

    /// <summary>A write to the scratch register makes this test device throw on its hot path.</summary>
    public const ulong CrashOffset = 7;

    public string Name => "console";

    public IReadOnlyList<DeviceRegion> Regions { get; } = [new DeviceRegion(TrapBus.Pio, port, 8)];

    public void HandleTrap(int region, TrapAccess access)
    {
        if (access.IsWrite)
        {
            if (access.Offset == DataOffset)
            {
                lock (_transmitLock)
                {
                    // A write while busy is lost, as on a UART whose driver ignores THRE.
                    if (!_busy && context.Output.TryWrite(access.Data[..1], this) == 0)
                    {
                        (_held, _busy) = (access.Data[0], true);
                    }
                }
            }
            else if (access.Offset == CrashOffset)
            {
                throw new InvalidOperationException("the test console was told to fail");
            }

            return;
        }

        if (access.Offset == DataOffset)
        {
            bool took = context.Input.TryTake(out byte b);
            access.SetValue(took ? b : 0u);
            if (took && context.Input.IsEmpty)
            {
                // The queue is bounded: let the actor move in input that waits beyond it.
                context.Post(DeviceSignals.InputSpaceAvailable.Instance);
            }
        }
        else if (access.Offset == LineStatusOffset)
        {
            bool busy;
            lock (_transmitLock)
            {
                busy = _busy;
            }

            access.SetValue((busy ? 0u : TransmitterEmpty) | (context.Input.IsEmpty ? 0u : DataReady));
        }
        else
        {
            access.SetValue(0);
        }
    }

    public void OnInputAvailable() => context.GetInterruptLine(InputIrq).Pulse();

    public DeviceState CaptureState() => NoDeviceState.Instance;

    public void OnOutputSpaceAvailable()
    {
        lock (_transmitLock)
        {
            if (_busy && context.Output.TryWrite([_held], this) == 1)
            {
                _busy = false;
            }
        }
    }

    public void Reset()
    {
    }

    public static DeviceDefinition Definition(ushort port) => new("console", context => new TestConsoleDevice(context, port));
}

/// <summary>
/// A device that moves its own 4-port region as a PCI BAR write does: a 16-bit write to <see cref="MoveRegister"/>
/// places the region at the value written, synchronously, through the capability its supervisor granted. Reads of
/// any other register return <see cref="Marker"/>.
/// </summary>
public sealed class MovableDevice(DeviceContext context, ushort port) : IDevice
{
    public const int MoveRegister = 0;
    public const byte Marker = 0x5A;

    public string Name => context.DeviceName;

    public IReadOnlyList<DeviceRegion> Regions { get; } = [new DeviceRegion(TrapBus.Pio, port, 4)];

    public void HandleTrap(int region, TrapAccess access)
    {
        if (access.IsWrite && access.Offset == MoveRegister)
        {
            context.Regions[region].Move(access.Value);
            return;
        }

        access.SetValue(Marker);
    }

    public void Reset()
    {
    }

    public DeviceState CaptureState() => new MovableState(context.Regions[0].Base);

    public static DeviceDefinition Definition(string name, ushort port) => new(name, context => new MovableDevice(context, port));

    public sealed record MovableState(ulong Base) : DeviceState
    {
        public override void Validate() => Require(Base <= ushort.MaxValue, "the base is a port");
    }
}

/// <summary>The state of a test device with nothing guest-visible to keep.</summary>
public sealed record NoDeviceState : DeviceState
{
    public static NoDeviceState Instance { get; } = new();

    public override void Validate()
    {
    }
}
