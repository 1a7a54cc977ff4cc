using System.Buffers.Binary;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Devices.Vfio;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using static ActorVmm.Machine.Passthrough.VfioPciIndexes;

namespace ActorVmm.Devices.Tests.Vfio;

public sealed class VfioPciDeviceTests
{
    private const ulong Bar0Address = 0xFE00_0000;
    private const ulong MovedBar0Address = 0xFD00_0000;
    private const ulong IoBarAddress = 0xC000;
    private const ulong Bar2Address = 0x8_0000_0000;
    private const ulong MsiAddress = MsiMessage.AddressBase | (1UL << MsiMessage.DestinationIdShift);
    private const uint MsiData = 0x41;

    [Fact]
    public void The_guest_sees_the_devices_identity_and_msi_while_other_capabilities_and_the_rom_are_hidden()
    {
        var rig = new VfioRig(FakeDevices.Edu());

        Assert.Equal(FakeDevices.EduVendor | ((uint)FakeDevices.EduDevice << 16), rig.ReadConfig(PciHeader.VendorId, 4));
        Assert.Equal(0xFFu, rig.ReadConfig(PciHeader.SubClass, 1));
        Assert.Equal((uint)PciInterruptPin.IntA, rig.ReadConfig(PciHeader.InterruptPin, 1));
        Assert.Equal((uint)PciHeader.StandardHeaderSize, rig.ReadConfig(PciHeader.CapabilitiesPointer, 1));
        Assert.Equal((uint)PciCapabilityId.Msi, rig.ReadConfig(PciHeader.StandardHeaderSize, 1));
        Assert.Equal(0u, rig.ReadConfig(PciHeader.StandardHeaderSize + PciCapability.NextPointer, 1));
        Assert.Equal((uint)MsiRegisters.Address64, rig.ReadConfig(PciHeader.StandardHeaderSize + MsiRegisters.MessageControl, 2));

        rig.WriteConfig(PciHeader.ExpansionRom, 4, PciBarBits.SizingPattern);
        Assert.Equal(0u, rig.ReadConfig(PciHeader.ExpansionRom, 4));
    }

    [Fact]
    public void The_passthrough_maps_every_guest_ram_window_of_the_backend_for_dma()
    {
        (ulong, nint, ulong)[] ram = [(0, 0x7000_0000, 0x100_0000), (0x1_0000_0000, 0x7100_0000, 0x10_0000)];
        var device = FakeDevices.Edu();

        using var passthrough = new VfioPciPassthrough(device, new FakePassthroughHost { DmaWindows = ram });

        Assert.Equal(ram, device.DmaWindows);
    }

    [Fact]
    public void Bar_sizing_reads_back_the_vfio_region_size_and_leaves_the_real_device_untouched()
    {
        var rig = new VfioRig(FakeDevices.Nic());

        rig.WriteConfig(PciHeader.Bar(0), 4, PciBarBits.SizingPattern);
        rig.WriteConfig(PciHeader.Bar(1), 4, PciBarBits.SizingPattern);
        rig.WriteConfig(PciHeader.Bar(2), 4, PciBarBits.SizingPattern);
        rig.WriteConfig(PciHeader.Bar(3), 4, PciBarBits.SizingPattern);

        Assert.Equal(unchecked((uint)~(FakeDevices.NicBar0Size - 1)), rig.ReadConfig(PciHeader.Bar(0), 4));
        Assert.Equal(unchecked((uint)~(FakeDevices.NicIoBarSize - 1)) | PciBarBits.IoSpace, rig.ReadConfig(PciHeader.Bar(1), 4));
        Assert.Equal(unchecked((uint)~(FakeDevices.NicBar2Size - 1)) | PciBarBits.MemoryType64, rig.ReadConfig(PciHeader.Bar(2), 4));
        Assert.Equal(uint.MaxValue, rig.ReadConfig(PciHeader.Bar(3), 4));
        Assert.Empty(rig.Device.Writes);
    }

    [Fact]
    public void An_enabled_bar_puts_its_mmapped_pages_in_memory_slots_that_follow_moves_and_leave_when_decoding_stops()
    {
        var rig = new VfioRig(FakeDevices.Edu());
        Assert.Equal([(VFIO_PCI_BAR0_REGION_INDEX, 0UL, FakeDevices.EduBar0Size)], rig.Device.Maps);

        rig.ProgramBar(0, Bar0Address);
        Assert.Empty(rig.Host.Slots);
        rig.EnableDecoding(PciCommand.MemorySpace);
        Assert.Equal([Bar0Address], rig.Host.Slots.Keys);
        Assert.Equal(FakeDevices.EduBar0Size, rig.Host.Slots[Bar0Address].Size);

        rig.ProgramBar(0, MovedBar0Address);
        Assert.Equal([MovedBar0Address], rig.Host.Slots.Keys);

        rig.EnableDecoding(0);
        Assert.Empty(rig.Host.Slots);
    }

    [Fact]
    public void Command_decode_and_bus_master_bits_are_mirrored_into_the_real_device()
    {
        var rig = new VfioRig(FakeDevices.Edu());
        rig.Device.Config[PciHeader.Command] = 0x40; // a bit the guest does not own (parity response) stays as the device has it

        rig.EnableDecoding(PciCommand.MemorySpace | PciCommand.BusMaster);

        var write = Assert.Single(rig.Device.Writes);
        Assert.Equal((VFIO_PCI_CONFIG_REGION_INDEX, (ulong)PciHeader.Command), (write.Region, write.Offset));
        Assert.Equal((ushort)(PciCommand.MemorySpace | PciCommand.BusMaster) | 0x40, BinaryPrimitives.ReadUInt16LittleEndian(write.Data));
    }

    [Fact]
    public void A_slot_the_backend_refuses_leaves_the_bar_served_through_its_trap_region()
    {
        var rig = new VfioRig(FakeDevices.Edu());
        rig.Host.RefusedAddresses.Add(Bar0Address);
        BinaryPrimitives.WriteUInt32LittleEndian(rig.Device.Contents(VFIO_PCI_BAR0_REGION_INDEX), 0x010000ED);

        rig.ProgramBar(0, Bar0Address);
        rig.EnableDecoding(PciCommand.MemorySpace);

        Assert.Empty(rig.Host.Slots);
        Assert.Equal(0x010000EDu, BinaryPrimitives.ReadUInt32LittleEndian(rig.GuestRead(TrapBus.Mmio, Bar0Address, 4)));
        Assert.Contains((VFIO_PCI_BAR0_REGION_INDEX, 0UL, 4), rig.Device.Reads);
    }

    [Fact]
    public void Io_and_unmappable_bar_accesses_are_forwarded_with_pread_and_pwrite_at_the_same_offset()
    {
        var rig = new VfioRig(FakeDevices.Nic());
        rig.ProgramBar(1, IoBarAddress);
        rig.ProgramBar(2, Bar2Address, is64: true);
        rig.EnableDecoding(PciCommand.IoSpace | PciCommand.MemorySpace);
        rig.Device.Writes.Clear();
        rig.Device.Contents(VFIO_PCI_BAR0_REGION_INDEX + 2)[0x10] = 0x5A;

        rig.GuestWrite(TrapBus.Pio, IoBarAddress + 4, 0x12, 0x34);
        byte[] read = rig.GuestRead(TrapBus.Mmio, Bar2Address + 0x10, 1);

        Assert.Equal([(VFIO_PCI_BAR0_REGION_INDEX + 1, 4UL, new byte[] { 0x12, 0x34 })], rig.Device.Writes.Select(w => (w.Region, w.Offset, w.Data)));
        Assert.Equal([0x5A], read);
        Assert.DoesNotContain(Bar2Address, rig.Host.Slots.Keys);
    }

    [Fact]
    public void The_msix_table_page_is_never_mapped_so_table_writes_trap()
    {
        var rig = new VfioRig(FakeDevices.Nic());

        Assert.Equal([(VFIO_PCI_BAR0_REGION_INDEX, 0UL, (ulong)FakeDevices.NicMsixTableOffset)], rig.Device.Maps);
        Assert.Equal(FakeDevices.NicMsix, rig.Current.Function.Definition.Msix);
    }

    [Fact]
    public void Enabling_msix_arms_every_vector_with_set_irqs_and_table_writes_reroute_the_vector_without_reaching_the_device()
    {
        var rig = new VfioRig(FakeDevices.Nic());
        rig.ProgramBar(0, Bar0Address);
        rig.EnableDecoding(PciCommand.MemorySpace);
        rig.Device.Writes.Clear();
        int capability = (int)rig.ReadConfig(PciHeader.CapabilitiesPointer, 1); // the guest's list, not the device's offsets
        Assert.Equal((uint)PciCapabilityId.MsiX, rig.ReadConfig(capability, 1));
        int control = capability + MsixRegisters.MessageControl;

        rig.WriteConfig(control, 2, MsixRegisters.Enable);
        var (index, start, fds) = Assert.Single(rig.Device.IrqSets);
        Assert.Equal((VFIO_PCI_MSIX_IRQ_INDEX, 0), (index, start));
        Assert.Equal(rig.Host.Routes.Select(r => r.EventFd), fds);
        Assert.Equal(FakeDevices.NicMsixVectors, fds!.Length);

        ulong entry = Bar0Address + FakeDevices.NicMsixTableOffset + (1 * MsixRegisters.EntrySize);
        byte[] message = new byte[MsixRegisters.EntrySize];
        BinaryPrimitives.WriteUInt64LittleEndian(message, MsiAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(MsixRegisters.EntryData), MsiData);
        rig.GuestWrite(TrapBus.Mmio, entry, message[..8]);
        rig.GuestWrite(TrapBus.Mmio, entry + MsixRegisters.EntryData, message[8..12]);

        Assert.Equal(new MsiMessage(MsiAddress, MsiData), rig.Host.Routes[1].Message);
        Assert.All(rig.Host.Routes.Where((_, v) => v != 1), r => Assert.Equal(default, r.Message));
        Assert.Empty(rig.Device.Writes);
        Assert.Single(rig.Device.IrqSets);

        rig.WriteConfig(control, 2, 0);
        Assert.Equal(FakeVfioDevice.Irq(VFIO_PCI_MSIX_IRQ_INDEX, 0, null), rig.Device.IrqLog.Last());
    }

    [Fact]
    public void An_msix_vectors_route_delivers_only_while_msix_is_on_and_neither_the_function_nor_the_vector_is_masked()
    {
        var rig = new VfioRig(FakeDevices.Nic());
        rig.ProgramBar(0, Bar0Address);
        rig.EnableDecoding(PciCommand.MemorySpace);
        rig.Device.Writes.Clear();
        Assert.Equal(FakeDevices.NicMsixVectors, rig.Host.Routes.Count);
        Assert.All(rig.Host.Routes, r => Assert.True(r.Masked));
        int control = (int)rig.ReadConfig(PciHeader.CapabilitiesPointer, 1) + MsixRegisters.MessageControl;
        ulong vectorControl = Bar0Address + FakeDevices.NicMsixTableOffset + (1 * MsixRegisters.EntrySize) + MsixRegisters.EntryVectorControl;
        var route = rig.Host.Routes[1];

        rig.WriteConfig(control, 2, MsixRegisters.Enable);
        Assert.True(route.Masked); // its own mask bit is still set from power-on
        rig.GuestWrite(TrapBus.Mmio, vectorControl, [0, 0, 0, 0]);
        Assert.False(route.Masked);
        rig.WriteConfig(control, 2, MsixRegisters.Enable | MsixRegisters.FunctionMask);
        Assert.True(route.Masked);
        rig.WriteConfig(control, 2, MsixRegisters.Enable);
        Assert.False(route.Masked);
        rig.GuestWrite(TrapBus.Mmio, vectorControl, [(byte)MsixRegisters.VectorMasked, 0, 0, 0]);
        Assert.True(route.Masked);

        Assert.Equal([true, false, true, false, true], route.MaskChanges);
        Assert.All(rig.Host.Routes.Where((_, v) => v != 1), r => Assert.Equal([true], r.MaskChanges));
        Assert.Empty(rig.Device.Writes);
    }

    [Fact]
    public void Enabling_msi_turns_intx_off_then_arms_its_route_reprogramming_reroutes_it_and_disabling_brings_intx_back()
    {
        var rig = new VfioRig(FakeDevices.Edu());
        var intx = rig.Host.LevelIrqFds.Single();
        rig.Device.IrqSets.Clear();
        int msi = PciHeader.StandardHeaderSize;
        rig.WriteConfig(msi + MsiRegisters.AddressLow, 4, (uint)MsiAddress);
        rig.WriteConfig(msi + MsiRegisters.Data64, 2, MsiData);
        Assert.Empty(rig.Device.IrqSets);

        rig.WriteConfig(msi + MsiRegisters.MessageControl, 2, MsiRegisters.Enable);
        var route = Assert.Single(rig.Host.Routes);
        Assert.Equal([FakeVfioDevice.Irq(VFIO_PCI_INTX_IRQ_INDEX, 0, null), FakeVfioDevice.Irq(VFIO_PCI_MSI_IRQ_INDEX, 0, route.EventFd)], rig.Device.IrqLog);
        Assert.Equal(new MsiMessage(MsiAddress, MsiData), route.Message);

        rig.WriteConfig(msi + MsiRegisters.Data64, 2, MsiData + 1);
        Assert.Equal(new MsiMessage(MsiAddress, MsiData + 1), route.Message);
        Assert.Equal(2, rig.Device.IrqSets.Count);

        rig.WriteConfig(msi + MsiRegisters.MessageControl, 2, 0);
        Assert.Equal(
            [FakeVfioDevice.Irq(VFIO_PCI_MSI_IRQ_INDEX, 0, null), FakeVfioDevice.Irq(VFIO_PCI_INTX_IRQ_INDEX, 0, intx.TriggerFd), FakeVfioDevice.Irq(VFIO_PCI_INTX_IRQ_INDEX, -1, intx.ResampleFd)],
            rig.Device.IrqLog.Skip(2));
    }

    [Fact]
    public void Intx_is_an_irqfd_on_the_swizzled_gsi_with_trigger_and_resample_eventfds_given_to_vfio_once()
    {
        var rig = new VfioRig(FakeDevices.Edu());
        var irq = Assert.Single(rig.Host.LevelIrqFds);

        Assert.Equal(rig.Slot.Line(PciInterruptPin.IntA), irq.Gsi);
        Assert.Equal(
            [(VFIO_PCI_INTX_IRQ_INDEX, 0, new[] { irq.TriggerFd }), (VFIO_PCI_INTX_IRQ_INDEX, -1, new[] { irq.ResampleFd })],
            rig.Device.IrqSets.Select(s => (s.Index, s.Start, s.Fds!)));
        Assert.Equal((uint)irq.Gsi, rig.ReadConfig(PciHeader.InterruptLine, 1));

        rig.Build(rig.Current.CaptureState());
        Assert.Single(rig.Host.LevelIrqFds);
        Assert.Equal(2, rig.Device.IrqSets.Count);
    }

    [Fact]
    public void A_rebuilt_incarnation_keeps_bar_slots_and_armed_msi_without_mapping_or_arming_twice()
    {
        var rig = new VfioRig(FakeDevices.Edu());
        rig.ProgramBar(0, Bar0Address);
        rig.EnableDecoding(PciCommand.MemorySpace | PciCommand.BusMaster);
        rig.WriteConfig(PciHeader.StandardHeaderSize + MsiRegisters.AddressLow, 4, (uint)MsiAddress);
        rig.WriteConfig(PciHeader.StandardHeaderSize + MsiRegisters.MessageControl, 2, MsiRegisters.Enable);
        int irqSets = rig.Device.IrqSets.Count;

        var rebuilt = rig.Build(rig.Current.CaptureState());

        Assert.Equal([Bar0Address], rig.Host.Slots.Keys);
        Assert.Equal(irqSets, rig.Device.IrqSets.Count);
        Assert.Single(rig.Host.Routes);
        Assert.Same(rebuilt.Function, rig.Bus.Find(rig.Address));
        Assert.Single(rig.Device.Maps);
    }

    [Fact]
    public void The_slow_path_reset_resets_the_host_device_and_brings_the_function_back_to_power_on()
    {
        var rig = new VfioRig(FakeDevices.Edu());
        rig.ProgramBar(0, Bar0Address);
        rig.EnableDecoding(PciCommand.MemorySpace);
        rig.WriteConfig(PciHeader.StandardHeaderSize + MsiRegisters.MessageControl, 2, MsiRegisters.Enable);

        var reply = rig.Current.OnSlowPath(new VfioPciProtocol.ResetDevice());

        Assert.Equal(new VfioPciProtocol.ResetDone(true), reply);
        Assert.Equal(1, rig.Device.Resets);
        Assert.Empty(rig.Host.Slots);
        Assert.Equal(0u, rig.ReadConfig(PciHeader.Bar(0), 4));
        Assert.Contains(FakeVfioDevice.Irq(VFIO_PCI_MSI_IRQ_INDEX, 0, null), rig.Device.IrqLog);
        Assert.Equal(VFIO_PCI_INTX_IRQ_INDEX, rig.Device.IrqSets[^1].Index);
        Assert.Same(DeviceSignals.NotUnderstood.Instance, rig.Current.OnSlowPath("what"));
    }

    [Fact]
    public void Disposing_the_passthrough_turns_interrupts_off_before_closing_routes_slots_mappings_and_the_device()
    {
        var rig = new VfioRig(FakeDevices.Edu());
        rig.ProgramBar(0, Bar0Address);
        rig.EnableDecoding(PciCommand.MemorySpace);
        rig.WriteConfig(PciHeader.StandardHeaderSize + MsiRegisters.MessageControl, 2, MsiRegisters.Enable);

        rig.Passthrough.Dispose();

        Assert.Equal(
            [FakeVfioDevice.Irq(VFIO_PCI_MSIX_IRQ_INDEX, 0, null), FakeVfioDevice.Irq(VFIO_PCI_MSI_IRQ_INDEX, 0, null), FakeVfioDevice.Irq(VFIO_PCI_INTX_IRQ_INDEX, 0, null)],
            rig.Device.IrqLog.TakeLast(3));
        Assert.True(rig.Host.LevelIrqFds.Single().Disposed && rig.Host.Routes.Single().Disposed && rig.Device.Disposed);
        Assert.Empty(rig.Host.Slots);
        Assert.Equal(1, rig.Device.Unmaps);
    }
}
