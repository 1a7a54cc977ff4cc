using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;

namespace ActorVmm.Devices.Tests.Pci;

public sealed class PciHeaderTests
{
    private readonly PciTestRig _rig = new();

    private PciFunction Function => _rig.Function;

    [Fact]
    public void Identity_registers_read_the_definition()
    {
        Assert.Equal(TestPciDevice.VendorId, Function.ReadConfig(PciHeader.VendorId, 2));
        Assert.Equal(TestPciDevice.DeviceId, Function.ReadConfig(PciHeader.DeviceId, 2));
        Assert.Equal(TestPciDevice.RevisionId, Function.ReadConfig(PciHeader.RevisionId, 1));
        Assert.Equal(TestPciDevice.ClassCode.BaseClass, Function.ReadConfig(PciHeader.BaseClass, 1));
        Assert.Equal(TestPciDevice.ClassCode.SubClass, Function.ReadConfig(PciHeader.SubClass, 1));
        Assert.Equal(TestPciDevice.ClassCode.ProgIf, Function.ReadConfig(PciHeader.ProgIf, 1));
        Assert.Equal(TestPciDevice.SubsystemVendorId, Function.ReadConfig(PciHeader.SubsystemVendorId, 2));
        Assert.Equal(TestPciDevice.SubsystemId, Function.ReadConfig(PciHeader.SubsystemId, 2));
    }

    [Fact]
    public void Identity_registers_ignore_writes()
    {
        // Dwords: vendor+device, revision+class code, subsystem vendor+ID; bytes: header type, BIST, interrupt pin.
        foreach (var (register, size) in new[] { (PciHeader.VendorId, 4), (PciHeader.RevisionId, 4), (PciHeader.SubsystemVendorId, 4), (PciHeader.HeaderType, 1), (PciHeader.Bist, 1), (PciHeader.InterruptPin, 1) })
        {
            uint before = Function.ReadConfig(register, size);
            Function.WriteConfig(register, size, 0);
            Function.WriteConfig(register, size, uint.MaxValue);
            Assert.Equal(before, Function.ReadConfig(register, size));
        }
    }

    [Fact]
    public void Command_keeps_only_its_writable_bits()
    {
        Function.WriteConfig(PciHeader.Command, 2, ushort.MaxValue);
        Assert.Equal((uint)PciModel.WritableCommand, Function.ReadConfig(PciHeader.Command, 2));
        Function.WriteConfig(PciHeader.Command, 2, 0);
        Assert.Equal((uint)PciCommand.None, Function.ReadConfig(PciHeader.Command, 2));
    }

    [Fact]
    public void Status_shows_the_capabilities_list_and_ignores_plain_writes()
    {
        uint status = Function.ReadConfig(PciHeader.Status, 2);
        Assert.Equal((uint)PciStatus.CapabilitiesList, status);
        Function.WriteConfig(PciHeader.Status, 2, (uint)(PciStatus.CapabilitiesList | PciStatus.InterruptStatus | PciStatus.Capable66MHz));
        Assert.Equal(status, Function.ReadConfig(PciHeader.Status, 2));
    }

    [Fact]
    public void Status_error_bits_clear_only_where_one_is_written()
    {
        Function.SignalStatus(PciStatus.ReceivedMasterAbort | PciStatus.SignaledTargetAbort);
        Function.WriteConfig(PciHeader.Status, 2, 0);
        Assert.Equal((uint)(PciStatus.CapabilitiesList | PciStatus.ReceivedMasterAbort | PciStatus.SignaledTargetAbort), Function.ReadConfig(PciHeader.Status, 2));

        Function.WriteConfig(PciHeader.Status, 2, (uint)PciStatus.ReceivedMasterAbort);
        Assert.Equal((uint)(PciStatus.CapabilitiesList | PciStatus.SignaledTargetAbort), Function.ReadConfig(PciHeader.Status, 2));
    }

    [Fact]
    public void Device_cannot_signal_read_only_status_bits_as_errors()
    {
        Function.SignalStatus(PciStatus.Capable66MHz | PciStatus.InterruptStatus);
        Assert.Equal((uint)PciStatus.CapabilitiesList, Function.ReadConfig(PciHeader.Status, 2));
    }

    [Fact]
    public void Command_write_as_a_dword_leaves_status_alone_unless_ones_are_written()
    {
        Function.SignalStatus(PciStatus.DetectedParityError);
        Function.WriteConfig(PciHeader.Command, 4, (uint)PciCommand.MemorySpace);
        Assert.Equal((uint)PciCommand.MemorySpace, Function.ReadConfig(PciHeader.Command, 2));
        Assert.Equal((uint)(PciStatus.CapabilitiesList | PciStatus.DetectedParityError), Function.ReadConfig(PciHeader.Status, 2));
    }

    [Fact]
    public void Cache_line_size_latency_timer_and_interrupt_line_are_writable()
    {
        const byte value = 0x5A;
        foreach (int register in new[] { PciHeader.CacheLineSize, PciHeader.LatencyTimer, PciHeader.InterruptLine })
        {
            Function.WriteConfig(register, 1, value);
            Assert.Equal(value, Function.ReadConfig(register, 1));
        }
    }

    [Fact]
    public void Interrupt_pin_is_read_only_and_the_line_starts_at_the_routed_irq()
    {
        Function.WriteConfig(PciHeader.InterruptPin, 1, (uint)PciInterruptPin.IntD);
        Assert.Equal((uint)PciInterruptPin.IntA, Function.ReadConfig(PciHeader.InterruptPin, 1));
        Assert.Equal((uint)_rig.Slot.Line(PciInterruptPin.IntA)!.Value, Function.ReadConfig(PciHeader.InterruptLine, 1));
    }

    [Fact]
    public void Header_type_is_type_0_and_bist_min_gnt_max_lat_read_0()
    {
        Assert.Equal(PciHeader.HeaderTypeEndpoint, Function.ReadConfig(PciHeader.HeaderType, 1));
        Assert.Equal(0u, Function.ReadConfig(PciHeader.Bist, 1));
        Assert.Equal(0u, Function.ReadConfig(PciHeader.MinGrant, 1));
        Assert.Equal(0u, Function.ReadConfig(PciHeader.MaxLatency, 1));
        Assert.Equal(0u, Function.ReadConfig(PciHeader.CardbusCisPointer, 4));
    }

    [Fact]
    public void Expansion_rom_reads_0_and_ignores_sizing()
    {
        Function.WriteConfig(PciHeader.ExpansionRom, 4, PciBarBits.SizingPattern);
        Assert.Equal(0u, Function.ReadConfig(PciHeader.ExpansionRom, 4));
    }

    [Fact]
    public void Unused_bar_reads_0_and_ignores_sizing()
    {
        const int unused = 5;
        Function.WriteConfig(PciHeader.Bar(unused), 4, PciBarBits.SizingPattern);
        Assert.Equal(0u, Function.ReadConfig(PciHeader.Bar(unused), 4));
    }

    [Fact]
    public void Narrow_reads_at_every_offset_compose_the_dword()
    {
        Function.WriteConfig(PciHeader.Command, 2, (uint)(PciCommand.IoSpace | PciCommand.InterruptDisable));
        for (int dword = 0; dword < PciHeader.ConfigSpaceSize; dword += 4)
        {
            uint whole = Function.ReadConfig(dword, 4);
            uint fromWords = Function.ReadConfig(dword, 2) | (Function.ReadConfig(dword + 2, 2) << 16);
            uint fromBytes = 0;
            for (int i = 3; i >= 0; i--)
            {
                fromBytes = (fromBytes << 8) | Function.ReadConfig(dword + i, 1);
            }

            Assert.Equal(whole, fromWords);
            Assert.Equal(whole, fromBytes);
        }
    }

    [Fact]
    public void Unaligned_word_write_spans_two_registers_byte_by_byte()
    {
        // High byte of the cache line size register is the latency timer: one word write sets both.
        Function.WriteConfig(PciHeader.CacheLineSize, 2, 0x4010);
        Assert.Equal(0x10u, Function.ReadConfig(PciHeader.CacheLineSize, 1));
        Assert.Equal(0x40u, Function.ReadConfig(PciHeader.LatencyTimer, 1));
    }

    [Fact]
    public void Extended_configuration_space_reads_0_and_drops_writes()
    {
        const int extended = PciHeader.ConfigSpaceSize;
        Function.WriteConfig(extended, 4, uint.MaxValue);
        Assert.Equal(0u, Function.ReadConfig(extended, 4));
        Assert.Equal(0u, Function.ReadConfig(PciHeader.ExtendedConfigSpaceSize - 4, 4));
    }

    [Fact]
    public void Accesses_of_other_sizes_or_outside_4_KiB_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Function.ReadConfig(0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Function.ReadConfig(PciHeader.ExtendedConfigSpaceSize - 2, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Function.WriteConfig(-1, 1, 0));
    }

    [Fact]
    public void Capabilities_chain_from_the_pointer_with_msix_last()
    {
        int first = (int)Function.ReadConfig(PciHeader.CapabilitiesPointer, 1);
        Assert.Equal(PciHeader.StandardHeaderSize, first);
        Assert.Equal(PciCapabilityId.VendorSpecific, Function.ReadConfig(first, 1));
        Assert.Equal(TestPciDevice.VendorCapabilityLength, (int)Function.ReadConfig(first + PciCapability.HeaderSize, 1));

        int second = (int)Function.ReadConfig(first + PciCapability.NextPointer, 1);
        Assert.Equal(first + TestPciDevice.VendorCapabilityLength, second);
        Assert.Equal(PciCapabilityId.MsiX, Function.ReadConfig(second, 1));
        Assert.Equal(0u, Function.ReadConfig(second + PciCapability.NextPointer, 1));
    }

    [Fact]
    public void Capability_bytes_follow_their_writable_masks_and_next_pointers_are_read_only()
    {
        int first = (int)Function.ReadConfig(PciHeader.CapabilitiesPointer, 1);
        uint header = Function.ReadConfig(first, 2);
        Function.WriteConfig(first, 4, uint.MaxValue);
        Assert.Equal(header, Function.ReadConfig(first, 2));
        Assert.Equal(TestPciDevice.VendorCapabilityLength, (int)Function.ReadConfig(first + PciCapability.HeaderSize, 1));
        Assert.Equal(byte.MaxValue, Function.ReadConfig(first + PciCapability.HeaderSize + 1, 1));
    }

    [Fact]
    public void Function_without_capabilities_clears_the_list_bit_and_pointer()
    {
        var bridge = new PciBus().HostBridge;
        Assert.Equal(0u, bridge.ReadConfig(PciHeader.Status, 2) & (uint)PciStatus.CapabilitiesList);
        Assert.Equal(0u, bridge.ReadConfig(PciHeader.CapabilitiesPointer, 1));
    }

    [Fact]
    public void Reset_returns_the_guest_writable_registers_to_power_on()
    {
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciModel.WritableCommand);
        Function.WriteConfig(PciHeader.InterruptLine, 1, 0x42);
        Function.WriteConfig(PciHeader.Bar(TestPciDevice.Memory32Bar), 4, PciBarBits.SizingPattern);
        Function.Reset();
        Assert.Equal(0u, Function.ReadConfig(PciHeader.Command, 2));
        Assert.Equal((uint)_rig.Slot.Line(PciInterruptPin.IntA)!.Value, Function.ReadConfig(PciHeader.InterruptLine, 1));
        Assert.Equal(0u, Function.ReadConfig(PciHeader.Bar(TestPciDevice.Memory32Bar), 4));
        Assert.False(Function.MsixEnabled);
    }

    [Fact]
    public void Definitions_that_cannot_exist_are_refused()
    {
        var valid = TestPciDevice.Definition;
        Assert.Throws<ArgumentException>(() => (valid with { VendorId = PciHeader.InvalidVendorId }).Validate());
        Assert.Throws<ArgumentException>(() => (valid with { Bars = [new PciBarDefinition(0, PciBarKind.Io, PciBarDefinition.MinIoSize - 1)] }).Validate());
        Assert.Throws<ArgumentException>(() => (valid with { Bars = [new PciBarDefinition(0, PciBarKind.Io, PciBarDefinition.MaxIoSize * 2)] }).Validate());
        Assert.Throws<ArgumentException>(() => (valid with { Bars = [new PciBarDefinition(5, PciBarKind.Memory64, PciBarDefinition.MinMemorySize)] }).Validate());
        Assert.Throws<ArgumentException>(() => (valid with { Bars = [new PciBarDefinition(0, PciBarKind.Memory64, TestPciDevice.Memory32BarSize), new PciBarDefinition(1, PciBarKind.Memory32, TestPciDevice.Memory32BarSize)] }).Validate());
        Assert.Throws<ArgumentException>(() => (valid with { Msix = MsixDefinition.InBar(TestPciDevice.IoBar, 1) }).Validate());
        Assert.Throws<ArgumentException>(() => (valid with { Msix = MsixDefinition.InBar(TestPciDevice.Memory32Bar, MsixRegisters.MaxVectors) }).Validate());
        Assert.Throws<ArgumentException>(() => (valid with { Capabilities = [.. Enumerable.Repeat(TestPciDevice.VendorCapability, ((PciHeader.ConfigSpaceSize - PciHeader.StandardHeaderSize) / TestPciDevice.VendorCapabilityLength) + 1)] }).Validate());
    }
}
