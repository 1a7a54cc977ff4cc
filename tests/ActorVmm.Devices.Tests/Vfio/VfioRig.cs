using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Tests.Pci;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Devices.Vfio;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Tests.Vfio;

/// <summary>
/// A passed-through device as the machine wires it: bus 0 with IOAPIC INTx routing and a slot, the device's BAR regions
/// registered disabled in a real trap table and granted as the supervisor does, guest accesses through the dispatcher,
/// and incarnations rebuilt over the same passthrough (as after a device failure).
/// </summary>
internal sealed class VfioRig
{
    public const string Name = "vfio0";
    public const int SlotDevice = 4;

    private readonly TrapTable _table = new();
    private readonly TrapTableWriter _writer;
    private readonly DeviceRegionControls _controls = new();

    public VfioRig(FakeVfioDevice device)
    {
        Device = device;
        _writer = _table.ClaimWriter();
        Dispatcher = new TrapDispatcher(_table);
        Bus = new PciBus(new PciIntxRouting(PciIntxRouting.X86IoApicGsis, Lines.Connect));
        Slot = Bus.AddSlot(Name, SlotDevice);
        Passthrough = new VfioPciPassthrough(device, Host);
        Current = Build();
    }

    public FakeVfioDevice Device { get; }

    public FakePassthroughHost Host { get; } = new();

    public RecordingIntxLines Lines { get; } = new();

    public PciBus Bus { get; }

    public PciSlot Slot { get; }

    public TrapDispatcher Dispatcher { get; }

    public VfioPciPassthrough Passthrough { get; }

    public VfioPciDevice Current { get; private set; }

    public PciAddress Address => Slot.Address(0);

    /// <summary>A new incarnation, from <paramref name="restored"/> or power-on; the first one's regions are registered and granted.</summary>
    public VfioPciDevice Build(DeviceState? restored = null)
    {
        var context = new DeviceContext(Name, TestDeviceContext.Create(Name, TimeProvider.System).Environment, new NullMailbox(), new GuestInputQueue(), restored, _controls);
        var device = new VfioPciDevice(Name, Passthrough, Slot, context);
        Current = device;
        if (!_controls.IsGranted)
        {
            var handles = device.Regions.Select((r, i) => _writer.Register(r.Bus, r.Base, r.Length, access => Current.HandleTrap(i, access), r.Flags, $"{Name}-bar{i}", r.Enabled)).ToArray();
            _controls.Grant([.. handles.Select(_writer.Control)]);
        }

        return device;
    }

    public uint ReadConfig(int register, int size) => Bus.ReadConfig(Address, register, size);

    public void WriteConfig(int register, int size, uint value) => Bus.WriteConfig(Address, register, size, value);

    /// <summary>Places BAR <paramref name="index"/> at <paramref name="address"/> the way a guest does (both halves of a 64-bit BAR).</summary>
    public void ProgramBar(int index, ulong address, bool is64 = false)
    {
        WriteConfig(PciHeader.Bar(index), 4, (uint)address);
        if (is64)
        {
            WriteConfig(PciHeader.Bar(index + 1), 4, (uint)(address >> 32));
        }
    }

    public void EnableDecoding(PciCommand bits) => WriteConfig(PciHeader.Command, 2, (uint)bits);

    public byte[] GuestRead(TrapBus bus, ulong address, int length)
    {
        byte[] data = new byte[length];
        Dispatcher.Dispatch(0, bus, address, TrapDirection.Read, data);
        return data;
    }

    public void GuestWrite(TrapBus bus, ulong address, params byte[] data) => Dispatcher.Dispatch(0, bus, address, TrapDirection.Write, data);

    private sealed class NullMailbox : IDeviceMailbox
    {
        public void Post(object message)
        {
        }
    }
}
