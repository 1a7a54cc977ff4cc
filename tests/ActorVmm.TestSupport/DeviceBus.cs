using ActorVmm.Devices;
using ActorVmm.Machine.Traps;

namespace ActorVmm.TestSupport;

/// <summary>
/// A real trap table and dispatcher with devices registered the way the supervisor does it
/// (every declared region, handler = HandleTrap with the region index), so tests drive devices
/// by port number or guest-physical address as a guest would.
/// </summary>
public sealed class DeviceBus
{
    private const int VcpuId = 0;

    public DeviceBus(params IDevice[] devices)
    {
        Writer = Table.ClaimWriter();
        Dispatcher = new TrapDispatcher(Table);
        foreach (var device in devices)
        {
            Attach(device);
        }
    }

    public TrapTable Table { get; } = new();

    /// <summary>The table's writer (the bus plays the supervisor).</summary>
    public TrapTableWriter Writer { get; }

    public TrapDispatcher Dispatcher { get; }

    /// <summary>How the last access was dispatched (Faulted would mean a device threw).</summary>
    public DispatchOutcome LastOutcome { get; private set; }

    public void Attach(IDevice device)
    {
        for (int i = 0; i < device.Regions.Count; i++)
        {
            int region = i;
            var r = device.Regions[i];
            Writer.Register(r.Bus, r.Base, r.Length, access => device.HandleTrap(region, access), r.Flags, $"{device.Name}[{region}]");
        }
    }

    public byte In8(ushort port) => (byte)Read(TrapBus.Pio, port, sizeof(byte));

    public void Out8(ushort port, byte value) => Write(TrapBus.Pio, port, sizeof(byte), value);

    public ulong Read(TrapBus bus, ulong address, int size)
    {
        Span<byte> data = stackalloc byte[size];
        LastOutcome = Dispatcher.Dispatch(VcpuId, bus, address, TrapDirection.Read, data);
        return TrapAccess.ReadLittleEndian(data);
    }

    public DispatchOutcome Write(TrapBus bus, ulong address, int size, ulong value)
    {
        Span<byte> data = stackalloc byte[size];
        TrapAccess.WriteLittleEndian(data, value);
        LastOutcome = Dispatcher.Dispatch(VcpuId, bus, address, TrapDirection.Write, data);
        return LastOutcome;
    }
}
