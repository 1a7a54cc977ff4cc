using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Tests.Pci;

public sealed class PciHostBridgeDeviceTests
{
    private const uint Memory32Address = 0xD200_0000;

    private readonly PciTestRig _rig = new();
    private readonly ConfigCycles _cycles;

    public PciHostBridgeDeviceTests() => _cycles = new ConfigCycles(_rig.Bridge, PciTestRig.EcamBase);

    private static PciAddress HostBridge => new(0, 0, 0);

    private PciAddress Test => _rig.Address;

    private ulong EcamOffset(PciAddress function, int register) => PciEcam.Offset(function, register);

    [Fact]
    public void Regions_are_the_ports_and_the_ecam_window()
    {
        Assert.Equal(
            [new DeviceRegion(TrapBus.Pio, PciHostBridgeDevice.ConfigAddressPort, PciHostBridgeDevice.PortCount), new DeviceRegion(TrapBus.Mmio, PciTestRig.EcamBase, PciTestRig.EcamSize)],
            _rig.Bridge.Regions);
    }

    [Fact]
    public void Windows_come_from_the_memory_maps()
    {
        var x86 = PciConfigWindows.For(MemoryMap.X86);
        Assert.Equal(new PciConfigWindows(true, X86MemoryMap.PciConfigBase, X86MemoryMap.PciConfigSize), x86);
        var arm = PciConfigWindows.For(MemoryMap.Arm64);
        Assert.Equal(new PciConfigWindows(false, Arm64MemoryMap.PciConfigBase, Arm64MemoryMap.PciConfigSize), arm);
        Assert.Single(new PciHostBridgeDevice(new PciBus(), arm).Regions);
    }

    [Fact]
    public void Unusable_windows_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new PciHostBridgeDevice(new PciBus(), new PciConfigWindows(false, 0, 0)));
        Assert.Throws<ArgumentException>(() => new PciHostBridgeDevice(new PciBus(), new PciConfigWindows(false, PciEcam.BusSize / 2, PciEcam.BusSize)));
        Assert.Throws<ArgumentException>(() => new PciHostBridgeDevice(new PciBus(), new PciConfigWindows(false, 0, PciEcam.BusSize + 1)));
    }

    [Fact]
    public void Config_address_reads_back_every_bit_written_as_a_dword()
    {
        const uint written = 0xFFFF_FFFF;
        _cycles.PortWrite(PciHostBridgeDevice.ConfigAddressPort, 4, written);
        Assert.Equal(written, _cycles.PortRead(PciHostBridgeDevice.ConfigAddressPort, 4));
    }

    [Fact]
    public void Byte_and_word_accesses_to_config_address_are_not_config_cycles()
    {
        uint latched = PciConfigAddress.For(Test, PciHeader.VendorId).Value;
        _cycles.PortWrite(PciHostBridgeDevice.ConfigAddressPort, 4, latched);
        for (ulong port = PciHostBridgeDevice.ConfigAddressPort; port < PciHostBridgeDevice.ConfigDataPort; port++)
        {
            _cycles.PortWrite(port, 1, 0);
            Assert.Equal(byte.MaxValue, _cycles.PortRead(port, 1));
        }

        _cycles.PortWrite(PciHostBridgeDevice.ConfigAddressPort, 2, 0);
        Assert.Equal(ushort.MaxValue, _cycles.PortRead(PciHostBridgeDevice.ConfigAddressPort + 2, 2));
        Assert.Equal(latched, _cycles.PortRead(PciHostBridgeDevice.ConfigAddressPort, 4));
    }

    [Fact]
    public void Data_port_reads_the_latched_register_of_the_addressed_function()
    {
        Assert.Equal((uint)TestPciDevice.DeviceId << 16 | TestPciDevice.VendorId, _cycles.Read(Test, PciHeader.VendorId, 4));
        Assert.Equal((uint)PciHostBridge.DeviceId << 16 | PciHostBridge.VendorId, _cycles.Read(HostBridge, PciHeader.VendorId, 4));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Data_port_lanes_add_to_the_register(int size)
    {
        uint dword = _cycles.Read(Test, PciHeader.RevisionId, 4);
        for (int lane = 0; lane + size <= 4; lane += size)
        {
            uint expected = (dword >> (8 * lane)) & PciBus.AllOnes(size);
            Assert.Equal(expected, _cycles.Read(Test, PciHeader.RevisionId + lane, size));
        }
    }

    [Fact]
    public void Data_port_writes_reach_the_function_at_each_lane()
    {
        _cycles.Write(Test, PciHeader.InterruptLine, 1, 0x0B);
        _cycles.Write(Test, PciHeader.CacheLineSize, 2, 0x2010);
        Assert.Equal(0x0Bu, _rig.Function.ReadConfig(PciHeader.InterruptLine, 1));
        Assert.Equal(0x2010u, _rig.Function.ReadConfig(PciHeader.CacheLineSize, 2));
    }

    [Fact]
    public void Data_port_with_the_enable_bit_clear_reads_all_ones_and_drops_writes()
    {
        uint disabled = PciConfigAddress.For(Test, PciHeader.InterruptLine).Value & ~PciConfigAddress.EnableBit;
        _cycles.PortWrite(PciHostBridgeDevice.ConfigAddressPort, 4, disabled);
        Assert.Equal(uint.MaxValue, _cycles.PortRead(PciHostBridgeDevice.ConfigDataPort, 4));
        uint line = _rig.Function.ReadConfig(PciHeader.InterruptLine, 1);
        _cycles.PortWrite(PciHostBridgeDevice.ConfigDataPort, 1, line + 1);
        Assert.Equal(line, _rig.Function.ReadConfig(PciHeader.InterruptLine, 1));
    }

    [Fact]
    public void Word_straddling_the_end_of_the_data_port_reads_its_last_lane_and_all_ones()
    {
        uint dword = _cycles.Read(Test, PciHeader.VendorId, 4);
        ulong value = _cycles.PortRead(PciHostBridgeDevice.ConfigDataPort + 3, 2);
        Assert.Equal((dword >> 24) | ((uint)byte.MaxValue << 8), value);
    }

    [Fact]
    public void Absent_devices_functions_and_buses_read_all_ones_and_drop_writes()
    {
        var absentDevice = new PciAddress(0, PciTestRig.SlotDevice + 1, 0);
        var absentFunction = new PciAddress(0, PciTestRig.SlotDevice, 1);
        var otherBus = new PciAddress(1, PciTestRig.SlotDevice, 0);
        foreach (var address in new[] { absentDevice, absentFunction, otherBus })
        {
            _cycles.Write(address, PciHeader.Command, 2, (uint)PciCommand.MemorySpace);
            Assert.Equal(uint.MaxValue, _cycles.Read(address, PciHeader.VendorId, 4));
            Assert.Equal(PciHeader.InvalidVendorId, _cycles.Read(address, PciHeader.VendorId, 2));
            Assert.Equal((ulong)uint.MaxValue, _cycles.EcamRead(EcamOffset(address, PciHeader.VendorId), 4));
        }

        Assert.Equal(PciCommand.None, _rig.Function.Command);
    }

    [Fact]
    public void Host_bridge_is_a_plain_host_bridge_at_00_00_0()
    {
        Assert.Equal(PciClassCode.HostBridge.BaseClass, _cycles.Read(HostBridge, PciHeader.BaseClass, 1));
        Assert.Equal(PciClassCode.HostBridge.SubClass, _cycles.Read(HostBridge, PciHeader.SubClass, 1));
        Assert.Equal(PciClassCode.HostBridge.ProgIf, _cycles.Read(HostBridge, PciHeader.ProgIf, 1));
        Assert.Equal(PciHeader.HeaderTypeEndpoint, _cycles.Read(HostBridge, PciHeader.HeaderType, 1));
        Assert.Equal((uint)PciInterruptPin.None, _cycles.Read(HostBridge, PciHeader.InterruptPin, 1));
    }

    [Fact]
    public void Ecam_reads_and_writes_the_same_registers_as_the_ports()
    {
        for (int register = 0; register < PciHeader.ConfigSpaceSize; register += 4)
        {
            Assert.Equal(_cycles.Read(Test, register, 4), (uint)_cycles.EcamRead(EcamOffset(Test, register), 4));
        }

        _cycles.EcamWrite(EcamOffset(Test, PciHeader.Bar(TestPciDevice.Memory32Bar)), 4, Memory32Address);
        _cycles.EcamWrite(EcamOffset(Test, PciHeader.Command), 2, (uint)PciCommand.MemorySpace);
        Assert.Equal(new PciBarPlacement(Memory32Address, true), _rig.Placements[TestPciDevice.Memory32Bar].Current);
        Assert.Equal(Memory32Address, _cycles.Read(Test, PciHeader.Bar(TestPciDevice.Memory32Bar), 4));
    }

    [Fact]
    public void Ecam_serves_bytes_and_words_at_natural_alignment()
    {
        uint dword = (uint)_cycles.EcamRead(EcamOffset(Test, PciHeader.VendorId), 4);
        Assert.Equal(dword & byte.MaxValue, _cycles.EcamRead(EcamOffset(Test, PciHeader.VendorId), 1));
        Assert.Equal(dword >> 24, _cycles.EcamRead(EcamOffset(Test, PciHeader.VendorId + 3), 1));
        Assert.Equal(dword >> 16, _cycles.EcamRead(EcamOffset(Test, PciHeader.DeviceId), 2));
    }

    [Fact]
    public void Ecam_unaligned_or_qword_accesses_read_all_ones_and_drop_writes()
    {
        Assert.Equal(ulong.MaxValue, _cycles.EcamRead(EcamOffset(Test, PciHeader.VendorId), 8));
        Assert.Equal((ulong)ushort.MaxValue, _cycles.EcamRead(EcamOffset(Test, PciHeader.VendorId + 1), 2));
        Assert.Equal((ulong)uint.MaxValue, _cycles.EcamRead(EcamOffset(Test, PciHeader.VendorId + 2), 4));
        _cycles.EcamWrite(EcamOffset(Test, PciHeader.InterruptLine - 1), 2, 0x1100);
        _cycles.EcamWrite(EcamOffset(Test, PciHeader.CacheLineSize), 8, ulong.MaxValue);
        Assert.Equal((uint)_rig.Slot.Line(PciInterruptPin.IntA)!.Value, _rig.Function.ReadConfig(PciHeader.InterruptLine, 1));
        Assert.Equal(0u, _rig.Function.ReadConfig(PciHeader.CacheLineSize, 1));
    }

    [Fact]
    public void Ecam_extended_space_of_a_pci_function_reads_0()
    {
        Assert.Equal(0UL, _cycles.EcamRead(EcamOffset(Test, PciHeader.ConfigSpaceSize), 4));
        Assert.Equal(0UL, _cycles.EcamRead(EcamOffset(Test, PciHeader.ExtendedConfigSpaceSize - 4), 4));
    }

    [Fact]
    public void Latch_survives_a_rebuild_from_captured_state_and_reset_clears_it()
    {
        uint latched = PciConfigAddress.For(Test, PciHeader.InterruptLine).Value;
        _cycles.PortWrite(PciHostBridgeDevice.ConfigAddressPort, 4, latched);
        var state = Assert.IsType<PciHostBridgeState>(_rig.Bridge.CaptureState());
        var rebuilt = new PciHostBridgeDevice(_rig.Bus, new PciConfigWindows(true, PciTestRig.EcamBase, PciTestRig.EcamSize), state);
        var cycles = new ConfigCycles(rebuilt, PciTestRig.EcamBase);
        Assert.Equal(latched, cycles.PortRead(PciHostBridgeDevice.ConfigAddressPort, 4));

        rebuilt.Reset();
        Assert.Equal(0UL, cycles.PortRead(PciHostBridgeDevice.ConfigAddressPort, 4));
    }
}
