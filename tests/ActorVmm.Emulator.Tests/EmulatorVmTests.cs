using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Emulator.Tests;

public sealed class EmulatorVmTests
{
    private const ulong Memory = 64 * 1024;
    private const int Irq = 4;
    private const int Vcpus = 3;

    [Fact]
    public void Hypervisor_is_named_emulator_and_creates_vms_with_the_requested_vcpus_and_no_in_kernel_irqchip()
    {
        using var hypervisor = new EmulatorHypervisor();
        using var vm = hypervisor.CreateVm(new VmSpec("vm", Memory, Vcpus));

        Assert.Equal("emulator", hypervisor.Name);
        Assert.Equal("emulator", vm.Backend);
        Assert.Equal(Vcpus, vm.Vcpus.Count);
        Assert.Equal(Memory, vm.Memory.TotalSize);
        Assert.False(vm.HasInKernelIrqchip);
        Assert.Equal(Enumerable.Range(0, Vcpus), vm.Vcpus.Select(v => v.Id));
    }

    [Fact]
    public void Hypervisor_rejects_an_unusable_spec_with_a_clear_error()
    {
        using var hypervisor = new EmulatorHypervisor();

        var error = Assert.Throws<ArgumentException>(() => hypervisor.CreateVm(new VmSpec("vm", Memory + 1)));
        Assert.Contains("4 KiB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Irq_changes_without_a_controller_are_dropped_and_counted()
    {
        using var vm = new EmulatorVm(new VmSpec("vm", Memory));

        vm.GetInterruptLine(Irq).Pulse();

        Assert.Equal(2, vm.DroppedIrqChanges);
    }

    [Fact]
    public void Irq_lines_forward_levels_to_the_attached_controller()
    {
        using var vm = new EmulatorVm(new VmSpec("vm", Memory));
        var controller = new FakeInterruptController();
        vm.AttachInterruptController(controller);

        vm.GetInterruptLine(Irq).SetLevel(true);

        Assert.True(controller.HasPendingInterrupt);
        Assert.True(controller.TryAcknowledge(out byte vector));
        Assert.Equal(Irq, vector);
        Assert.Equal(0, vm.DroppedIrqChanges);
    }

    [Fact]
    public void A_second_interrupt_controller_is_refused()
    {
        using var vm = new EmulatorVm(new VmSpec("vm", Memory));
        vm.AttachInterruptController(new FakeInterruptController());

        Assert.Throws<InvalidOperationException>(() => vm.AttachInterruptController(new FakeInterruptController()));
    }

    [Fact]
    public void Irq_numbers_outside_the_isa_and_ioapic_range_are_rejected()
    {
        using var vm = new EmulatorVm(new VmSpec("vm", Memory));

        Assert.Throws<ArgumentOutOfRangeException>(() => vm.GetInterruptLine(EmulatorVm.MaxIrq + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.GetInterruptLine(-1));
    }
}
