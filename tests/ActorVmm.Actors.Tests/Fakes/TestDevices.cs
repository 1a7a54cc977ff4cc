using ActorVmm.Actors.Devices;
using ActorVmm.Kvm.Traps;
using Akka.Actor;

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
public sealed class FlakyDevice : IDevice
{
    public const byte ThrowValue = 0xEE;

    public FlakyDevice(string name, ushort port, InstanceLog log)
    {
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

    public static DeviceDefinition Definition(string name, ushort port, InstanceLog log) =>
        new(name, _ => new FlakyDevice(name, port, log), setup => Props.Create(() => new FlakyDeviceActor(setup)));
}

/// <summary>The flaky device's adapter: <see cref="Explode"/> fails its slow path.</summary>
public sealed class FlakyDeviceActor : DeviceActor<FlakyDevice>
{
    public FlakyDeviceActor(DeviceSetup setup)
        : base(setup)
    {
        Receive<Explode>(_ => throw new InvalidOperationException($"{DeviceName} was told to fail on its slow path"));
        Receive<WhoAreYou>(_ => Sender.Tell(TypedDevice.Incarnation));
    }

    public sealed record Explode
    {
        public static Explode Instance { get; } = new();
    }

    public sealed record WhoAreYou
    {
        public static WhoAreYou Instance { get; } = new();
    }
}

/// <summary>
/// A minimal console device (until the real UART is merged): a write to its data port goes to the
/// VM's console output; reads of the line status say the transmitter is empty.
/// </summary>
public sealed class TestConsoleDevice(DeviceContext context, ushort port) : IDevice, IConsoleInputDevice
{
    public const ulong DataOffset = 0;
    public const ulong LineStatusOffset = 5;
    public const byte TransmitterEmpty = 0x60;
    public const byte DataReady = 0x01;
    public const int ReceiveCapacity = 4;

    private readonly Queue<byte> _received = new();
    private readonly Lock _lock = new();

    public string Name => "console";

    public IReadOnlyList<DeviceRegion> Regions { get; } = [new DeviceRegion(TrapBus.Pio, port, 8)];

    public void HandleTrap(int region, TrapAccess access)
    {
        if (access.IsWrite && access.Offset == DataOffset)
        {
            context.Output.Write(access.Data[..1]);
            return;
        }

        if (access.IsWrite)
        {
            return;
        }

        lock (_lock)
        {
            if (access.Offset == DataOffset)
            {
                bool had = _received.TryDequeue(out byte b);
                access.SetValue(b);
                if (had)
                {
                    context.Post(DeviceProtocol.InputSpaceAvailable.Instance);
                }
            }
            else if (access.Offset == LineStatusOffset)
            {
                access.SetValue(TransmitterEmpty | (_received.Count > 0 ? DataReady : 0u));
            }
            else
            {
                access.SetValue(0);
            }
        }
    }

    public int Offer(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            int taken = 0;
            while (taken < bytes.Length && _received.Count < ReceiveCapacity)
            {
                _received.Enqueue(bytes[taken++]);
            }

            return taken;
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            _received.Clear();
        }
    }

    public static DeviceDefinition Definition(ushort port) => new("console", context => new TestConsoleDevice(context, port));
}
