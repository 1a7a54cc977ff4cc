using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Pci.Msix;
using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Tests.Pci;

public sealed class PciIntxTests
{
    private readonly PciTestRig _rig = new();

    private PciFunction Function => _rig.Function;

    private uint StatusInterrupt => Function.ReadConfig(PciHeader.Status, 2) & (uint)PciStatus.InterruptStatus;

    [Theory]
    [InlineData(0, PciInterruptPin.IntA, 0)]
    [InlineData(0, PciInterruptPin.IntD, 3)]
    [InlineData(1, PciInterruptPin.IntA, 1)]
    [InlineData(3, PciInterruptPin.IntB, 0)]
    [InlineData(4, PciInterruptPin.IntA, 0)]
    [InlineData(31, PciInterruptPin.IntC, 1)]
    public void Swizzle_maps_pin_and_slot_to_one_of_four_lines(int device, PciInterruptPin pin, int line)
    {
        var routing = new PciIntxRouting(PciIntxRouting.X86IoApicGsis, _rig.Lines.Connect);
        Assert.Equal(PciIntxRouting.X86IoApicGsis[line], routing.Line(device, pin));
    }

    [Fact]
    public void On_the_IOAPIC_every_slot_and_pin_reaches_the_GSI_the_MP_table_describes()
    {
        var routing = new PciIntxRouting(PciIntxRouting.X86IoApicGsis, _rig.Lines.Connect);
        for (int device = 0; device < PciIntxSwizzle.SlotCount; device++)
        {
            for (var pin = PciInterruptPin.IntA; pin <= PciInterruptPin.IntD; pin++)
            {
                Assert.Equal(PciIntxSwizzle.Gsi(device, (int)pin), routing.Line(device, pin));
            }
        }
    }

    [Fact]
    public void Pic_routing_uses_its_four_irqs()
    {
        var routing = new PciIntxRouting(PciIntxRouting.X86PicIrqs, _rig.Lines.Connect);
        Assert.Equal(PciIntxRouting.X86PicIrqs, Enumerable.Range(0, PciIntxRouting.LineCount).Select(d => routing.Line(d, PciInterruptPin.IntA)));
    }

    [Fact]
    public void Routing_needs_four_lines_and_a_pin()
    {
        Assert.Throws<ArgumentException>(() => new PciIntxRouting([.. PciIntxRouting.X86IoApicGsis.Take(2)], _rig.Lines.Connect));
        var routing = new PciIntxRouting(PciIntxRouting.X86IoApicGsis, _rig.Lines.Connect);
        Assert.Throws<ArgumentOutOfRangeException>(() => routing.Line(0, PciInterruptPin.None));
    }

    [Fact]
    public void Function_is_connected_to_its_swizzled_line()
    {
        Assert.Equal(PciIntxRouting.X86IoApicGsis[(PciTestRig.SlotDevice + (int)PciInterruptPin.IntA - 1) % PciIntxRouting.LineCount], _rig.Intx.Irq);
        Assert.Equal($"pci:{PciTestRig.SlotName}.0", _rig.Intx.Owner);
    }

    [Fact]
    public void Pending_intx_drives_the_line_and_the_status_bit()
    {
        Function.SetIntxLevel(true);
        Assert.True(_rig.Lines.Level(_rig.Intx.Irq));
        Assert.Equal((uint)PciStatus.InterruptStatus, StatusInterrupt);

        Function.SetIntxLevel(false);
        Assert.False(_rig.Lines.Level(_rig.Intx.Irq));
        Assert.Equal(0u, StatusInterrupt);
    }

    [Fact]
    public void Interrupt_disable_masks_the_line_but_not_the_status_bit()
    {
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.InterruptDisable);
        Function.SetIntxLevel(true);
        Assert.False(_rig.Intx.Level);
        Assert.Equal((uint)PciStatus.InterruptStatus, StatusInterrupt);

        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.None);
        Assert.True(_rig.Intx.Level);

        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.InterruptDisable);
        Assert.False(_rig.Intx.Level);
    }

    [Fact]
    public void Msix_enable_stops_intx()
    {
        Function.SetIntxLevel(true);
        Assert.True(_rig.Intx.Level);
        int control = MsixTests.ControlRegister(Function);
        Function.WriteConfig(control, 2, MsixRegisters.Enable);
        Assert.False(_rig.Intx.Level);
        Assert.Equal((uint)PciStatus.InterruptStatus, StatusInterrupt);

        Function.WriteConfig(control, 2, 0);
        Assert.True(_rig.Intx.Level);
    }

    [Fact]
    public void Level_changes_only_reach_the_line_when_the_effective_level_changes()
    {
        int changes = _rig.Intx.Changes;
        Function.SetIntxLevel(true);
        Function.SetIntxLevel(true);
        Function.WriteConfig(PciHeader.CacheLineSize, 1, 0x10);
        Assert.Equal(changes + 1, _rig.Intx.Changes);
        Assert.Equal(0, _rig.Intx.Pulses);
    }

    [Fact]
    public void Restarted_function_reuses_its_source_and_drops_a_stale_level()
    {
        Function.SetIntxLevel(true);
        Assert.True(_rig.Lines.Level(_rig.Intx.Irq));

        _rig.Build();
        Assert.Single(_rig.Lines.Sources);
        Assert.False(_rig.Lines.Level(_rig.Intx.Irq));
    }

    [Fact]
    public void Reset_deasserts_intx()
    {
        Function.SetIntxLevel(true);
        Function.Reset();
        Assert.False(_rig.Intx.Level);
        Assert.Equal(0u, StatusInterrupt);
    }

    [Fact]
    public void Function_with_a_pin_needs_an_interrupt_source()
    {
        var wiring = new PciFunctionWiring(_ => new RecordingBarPlacement()) { MsiVectors = _ => new RecordingMsiVector() };
        Assert.Throws<ArgumentException>(() => new PciFunction(TestPciDevice.Definition, wiring));
    }

    [Fact]
    public void Slot_without_routing_refuses_a_pin()
    {
        var slot = new PciBus().AddSlot("unrouted");
        Assert.Null(slot.Line(PciInterruptPin.IntA));
        Assert.Throws<InvalidOperationException>(() => slot.Wiring(0, TestPciDevice.Definition, _ => new RecordingBarPlacement()));
    }
}
