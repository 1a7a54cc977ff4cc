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
        Table = new TrapTable();
        Writer = Table.ClaimWriter();
        Dispatcher = new TrapDispatcher(Table);
        foreach (var device in devices)
        {
            Attach(device);
        }
    }

    /// <summary>A bus over a backend VM's own table and dispatcher (the bus claims the table's writer).</summary>
    public DeviceBus(TrapTable table, TrapDispatcher dispatcher)
    {
        Table = table ?? throw new ArgumentNullException(nameof(table));
        Dispatcher = dispatcher ?? throw new ArgumentNullException(nameof(dispatcher));
        Writer = table.ClaimWriter();
    }

    public TrapTable Table { get; }

    /// <summary>The table's writer (the bus plays the supervisor).</summary>
    public TrapTableWriter Writer { get; }

    public TrapDispatcher Dispatcher { get; }

    /// <summary>How the last access was dispatched (Faulted would mean a device threw).</summary>
    public DispatchOutcome LastOutcome { get; private set; }

    /// <summary>Registers every region of <paramref name="device"/> (disabled ones disabled) and grants their controls into <paramref name="regions"/> when given.</summary>
    public void Attach(IDevice device, DeviceRegionControls? regions = null)
    {
        var handles = new List<RegionHandle>(device.Regions.Count);
        for (int i = 0; i < device.Regions.Count; i++)
        {
            int region = i;
            var r = device.Regions[i];
            handles.Add(Writer.Register(r.Bus, r.Base, r.Length, access => device.HandleTrap(region, access), r.Flags, $"{device.Name}[{region}]", r.Enabled));
        }

        regions?.Grant([.. handles.Select(Writer.Control)]);
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
