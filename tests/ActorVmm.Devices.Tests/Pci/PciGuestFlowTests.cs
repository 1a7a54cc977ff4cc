using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Machine.Traps;
using ActorVmm.TestSupport;

namespace ActorVmm.Devices.Tests.Pci;

/// <summary>
/// A guest's view through a real trap table and dispatcher: enumerate bus 0 by 0xCF8/0xCFC, size and assign the BARs
/// as Linux does, enable decoding, then reach the function's registers at the addresses it was given; moves happen
/// inside the configuration write that asks for them.
/// </summary>
public sealed class PciGuestFlowTests
{
    private const ushort IoBase = 0x6200;
    private const uint Memory32Base = 0xD200_0000;
    private const ulong Memory64Base = 0x80_0000_0000;
    private const uint MovedMemory32Base = 0xD210_0000;
    private const uint DeviceRegisterValue = 0x5EED;

    private readonly DeviceBus _bus;
    private readonly PciTestRig _rig;

    public PciGuestFlowTests()
    {
        _bus = new DeviceBus();
        _rig = new PciTestRig();
        var bars = TestPciDevice.Definition.Bars.ToDictionary(b => b.Index);

        // The device's incarnation: BAR regions whose handler serves the MSI-X table and, elsewhere, one register.
        var wiring = _rig.Slot.Wiring(
            0,
            TestPciDevice.Definition,
            index => new TrapTableBarPlacement(_bus.Writer, bars[index], access => HandleBar(index, access), $"test-bar{index}"),
            v => _rig.Vectors[v]);
        var function = new PciFunction(TestPciDevice.Definition, wiring);
        _rig.Slot.Attach(0, function);
        _bus.Attach(_rig.Bridge);
    }

    private PciFunction Function => _rig.Bus.Find(_rig.Address)!;

    [Fact]
    public void Enumeration_finds_the_host_bridge_and_the_test_device_only()
    {
        var found = new List<(int Device, uint Ids)>();
        for (int device = 0; device < PciAddress.DevicesPerBus; device++)
        {
            uint ids = ConfigRead(new PciAddress(0, device, 0), PciHeader.VendorId, 4);
            if ((ushort)ids != PciHeader.InvalidVendorId)
            {
                found.Add((device, ids));
            }
        }

        Assert.Equal(
            [(0, (uint)PciHostBridge.DeviceId << 16 | PciHostBridge.VendorId), (PciTestRig.SlotDevice, (uint)TestPciDevice.DeviceId << 16 | TestPciDevice.VendorId)],
            found);
    }

    [Fact]
    public void Sized_and_assigned_bars_reach_the_device_through_the_trap_table()
    {
        AssignAndEnable();
        Assert.Equal(DispatchOutcome.Handled, _bus.Write(TrapBus.Mmio, Memory32Base + MsixTests.EntryOffset(0, MsixRegisters.EntryData), 4, 0x41));
        Assert.Equal(0x41UL, _bus.Read(TrapBus.Mmio, Memory32Base + MsixTests.EntryOffset(0, MsixRegisters.EntryData), 4));
        Assert.Equal(DeviceRegisterValue, _bus.Read(TrapBus.Pio, IoBase, 4));
        Assert.Equal(DeviceRegisterValue, _bus.Read(TrapBus.Mmio, Memory64Base, 4));
        Assert.Equal(DispatchOutcome.Handled, _bus.LastOutcome);
    }

    [Fact]
    public void Moving_a_bar_takes_effect_before_the_next_access()
    {
        AssignAndEnable();
        ConfigWrite(PciHeader.Bar(TestPciDevice.Memory32Bar), 4, MovedMemory32Base);
        _bus.Read(TrapBus.Mmio, Memory32Base, 4);
        Assert.Equal(DispatchOutcome.Unhandled, _bus.LastOutcome);
        Assert.Equal((ulong)MsixRegisters.VectorMasked, _bus.Read(TrapBus.Mmio, MovedMemory32Base + MsixTests.EntryOffset(0, MsixRegisters.EntryVectorControl), 4));
        Assert.Equal(DispatchOutcome.Handled, _bus.LastOutcome);
    }

    [Fact]
    public void Clearing_memory_decode_removes_the_memory_bars_but_not_the_io_bar()
    {
        AssignAndEnable();
        ConfigWrite(PciHeader.Command, 2, (uint)PciCommand.IoSpace);
        _bus.Read(TrapBus.Mmio, Memory32Base, 4);
        Assert.Equal(DispatchOutcome.Unhandled, _bus.LastOutcome);
        _bus.Read(TrapBus.Mmio, Memory64Base, 4);
        Assert.Equal(DispatchOutcome.Unhandled, _bus.LastOutcome);
        Assert.Equal(DeviceRegisterValue, _bus.Read(TrapBus.Pio, IoBase, 4));
    }

    private void HandleBar(int bar, TrapAccess access)
    {
        if (!Function.TryHandleMsixAccess(bar, access) && !access.IsWrite)
        {
            access.SetValue(DeviceRegisterValue);
        }
    }

    /// <summary>Linux's __pci_read_base for every BAR (decode off around it), then assignment and decode on.</summary>
    private void AssignAndEnable()
    {
        uint command = ConfigRead(_rig.Address, PciHeader.Command, 2);
        ConfigWrite(PciHeader.Command, 2, command & ~(uint)(PciCommand.IoSpace | PciCommand.MemorySpace));
        var sized = new List<uint>();
        for (int register = 0; register < PciHeader.BarCount; register++)
        {
            int offset = PciHeader.Bar(register);
            uint original = ConfigRead(_rig.Address, offset, 4);
            ConfigWrite(offset, 4, PciBarBits.SizingPattern);
            sized.Add(ConfigRead(_rig.Address, offset, 4));
            ConfigWrite(offset, 4, original);
        }

        uint[] expected =
        [
            unchecked((uint)~(TestPciDevice.IoBarSize - 1)) | PciBarBits.IoSpace,
            unchecked((uint)~(TestPciDevice.Memory32BarSize - 1)),
            unchecked((uint)~(TestPciDevice.Memory64BarSize - 1)) | PciBarBits.MemoryType64 | PciBarBits.Prefetchable,
            uint.MaxValue,
            0,
            0,
        ];
        Assert.Equal(expected, sized);

        ConfigWrite(PciHeader.Bar(TestPciDevice.IoBar), 4, IoBase);
        ConfigWrite(PciHeader.Bar(TestPciDevice.Memory32Bar), 4, Memory32Base);
        ConfigWrite(PciHeader.Bar(TestPciDevice.Memory64Bar), 4, unchecked((uint)Memory64Base));
        ConfigWrite(PciHeader.Bar(TestPciDevice.Memory64Bar + 1), 4, (uint)(Memory64Base >> 32));
        ConfigWrite(PciHeader.Command, 2, (uint)(PciCommand.IoSpace | PciCommand.MemorySpace | PciCommand.BusMaster));
    }

    private uint ConfigRead(PciAddress function, int register, int size)
    {
        _bus.Write(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, 4, PciConfigAddress.For(function, register).Value);
        return (uint)_bus.Read(TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort + (ulong)(register & 3), size);
    }

    private void ConfigWrite(int register, int size, uint value)
    {
        _bus.Write(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, 4, PciConfigAddress.For(_rig.Address, register).Value);
        _bus.Write(TrapBus.Pio, PciHostBridgeDevice.ConfigDataPort + (ulong)(register & 3), size, value);
    }
}
