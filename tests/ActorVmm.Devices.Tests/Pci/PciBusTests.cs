using ActorVmm.Devices.Pci;

namespace ActorVmm.Devices.Tests.Pci;

public sealed class PciBusTests
{
    [Fact]
    public void Host_bridge_holds_device_0_and_slots_take_the_lowest_free_number()
    {
        var bus = new PciBus();
        Assert.Same(bus.HostBridge, bus.Find(new PciAddress(0, 0, 0)));
        Assert.Equal(1, bus.AddSlot("first").Device);
        Assert.Equal(7, bus.AddSlot("named", 7).Device);
        Assert.Equal(2, bus.AddSlot("second").Device);
        Assert.Equal([PciBus.HostBridgeSlotName, "first", "second", "named"], bus.Slots.Select(s => s.Name));
        Assert.Equal(7, bus.Slot("named").Device);
    }

    [Fact]
    public void Taken_names_and_numbers_are_refused()
    {
        var bus = new PciBus();
        bus.AddSlot("a", 4);
        Assert.Throws<ArgumentException>(() => bus.AddSlot("a"));
        Assert.Throws<ArgumentException>(() => bus.AddSlot("b", 4));
        Assert.Throws<ArgumentException>(() => bus.AddSlot("c", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => bus.AddSlot("d", PciAddress.DevicesPerBus));
        Assert.Throws<ArgumentException>(() => bus.AddSlot("bad name"));
        Assert.Throws<KeyNotFoundException>(() => bus.Slot("missing"));
    }

    [Fact]
    public void Full_bus_refuses_another_slot()
    {
        var bus = new PciBus();
        for (int i = 1; i < PciAddress.DevicesPerBus; i++)
        {
            bus.AddSlot($"s{i}");
        }

        Assert.Throws<InvalidOperationException>(() => bus.AddSlot("one-too-many"));
    }

    [Fact]
    public void Attaching_a_second_function_sets_the_multi_function_bit_of_function_0()
    {
        var rig = new PciTestRig();
        Assert.Equal(0u, rig.Function.ReadConfig(PciHeader.HeaderType, 1) & PciHeader.HeaderTypeMultiFunction);

        var second = new PciFunction(PciHostBridge.Definition with { ClassCode = PciClassCode.Unclassified }, PciFunctionWiring.None);
        rig.Slot.Attach(1, second);
        Assert.Equal(PciHeader.HeaderTypeMultiFunction, rig.Function.ReadConfig(PciHeader.HeaderType, 1) & PciHeader.HeaderTypeMultiFunction);
        Assert.Same(second, rig.Bus.Find(rig.Slot.Address(1)));

        // A restarted function 0 is told again.
        rig.Build();
        Assert.Equal(PciHeader.HeaderTypeMultiFunction, rig.Function.ReadConfig(PciHeader.HeaderType, 1) & PciHeader.HeaderTypeMultiFunction);
    }

    [Fact]
    public void Detach_removes_only_the_incarnation_still_attached()
    {
        var rig = new PciTestRig();
        var old = rig.Function;
        var current = rig.Build();
        Assert.False(rig.Slot.Detach(0, old));
        Assert.Same(current, rig.Bus.Find(rig.Address));
        Assert.True(rig.Slot.Detach(0, current));
        Assert.Null(rig.Bus.Find(rig.Address));
        Assert.Equal(uint.MaxValue, rig.Bus.ReadConfig(rig.Address, PciHeader.VendorId, 4));
    }

    [Fact]
    public void Description_names_bdf_ids_class_interrupt_and_bar_placements()
    {
        var rig = new PciTestRig();
        rig.Function.WriteConfig(PciHeader.Bar(TestPciDevice.IoBar), 4, 0x6200);
        rig.Function.WriteConfig(PciHeader.Bar(TestPciDevice.Memory32Bar), 4, 0xD200_0000);
        rig.Function.WriteConfig(PciHeader.Command, 2, (uint)(PciCommand.IoSpace | PciCommand.BusMaster));

        var lines = rig.Bus.Describe();
        Assert.Equal(2, lines.Count);
        Assert.Equal($"00:00.0 {PciBus.HostBridgeSlotName} [0600] 8086:0d57 rev 00 cmd -", lines[0]);
        Assert.Equal(
            "00:03.0 test [0200] 1234:5678 rev 02 subsys 1af4:1100 cmd io,master INTA irq 19 "
            + "BAR0 io 0x6200 [0x20] BAR1 mem32 0xd2000000 (disabled) [0x1000] BAR2 mem64 pref unassigned [0x4000] msix 4 vectors disabled",
            lines[1]);
    }
}
