using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using ActorVmm.TestSupport.Routing;

namespace ActorVmm.Emulator.Tests.Interrupts;

/// <summary>Interrupt routing and doorbells on the emulator, through real guests (the same ones the KVM tests run).</summary>
public sealed class InterruptRoutingTests
{
    private const int TwoVcpus = 2;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void An_msi_aimed_at_vcpu_1_wakes_it_and_is_taken_by_vcpu_1_only_both_as_one_off_and_through_a_reprogrammed_route()
    {
        using var vm = new EmulatorVm(new VmSpec("msi", RoutingGuests.MsiMemorySize, TwoVcpus));

        var result = RoutingScenarios.MsiToSecondVcpu(vm, RoutingGuests.MsiTarget(), Timeout);

        Assert.True(result.Passed, result.Detail);
        Assert.Equal(0, vm.DroppedMsis);
    }

    [Fact]
    public void A_level_triggered_gsi_shared_by_two_sources_stays_asserted_until_both_deassert()
    {
        using var vm = new EmulatorVm(new VmSpec("level", RoutingGuests.MsiMemorySize));
        RoutingScenarios.AttachPic(vm);

        var result = RoutingScenarios.SharedLevelGsi(vm, RoutingGuests.SharedLevelIrq(), Timeout);

        Assert.True(result.Passed, result.Detail);
    }

    [Fact]
    public void A_doorbell_write_runs_the_callback_on_the_vcpu_thread_and_never_reaches_the_trap_table()
    {
        using var vm = new EmulatorVm(new VmSpec("doorbells", RoutingGuests.MsiMemorySize));

        var outcome = RoutingScenarios.Doorbells(vm, RoutingGuests.Doorbells(), Timeout);

        Assert.Equal(VcpuExitReason.Stopped, outcome.Exit?.Reason);
        Assert.Equal([outcome.VcpuThread], outcome.PortCallbackThreads);
        Assert.Equal([outcome.VcpuThread], outcome.MmioCallbackThreads);
        Assert.Equal([$"{TrapBus.Pio} 0x{RoutingGuests.NotifyPort:X} write 0x{RoutingGuests.OtherValue:X}"], outcome.Trapped);
    }

    [Fact]
    public void An_msi_to_a_vcpu_whose_apic_is_still_software_disabled_is_dropped_and_counted()
    {
        using var vm = new EmulatorVm(new VmSpec("disabled", RoutingGuests.MsiMemorySize, TwoVcpus));

        Assert.False(vm.Interrupts.SignalMsi(MsiMessage.Fixed(1, RoutingGuests.MsiVector)));

        Assert.Equal(1, vm.DroppedMsis);
        Assert.Equal(1, vm.Apic(1).DroppedInterrupts);
    }

    [Fact]
    public void An_msi_outside_the_interrupt_window_or_with_an_unmodelled_delivery_mode_reaches_no_apic()
    {
        using var vm = new EmulatorVm(new VmSpec("bad-msi", RoutingGuests.MsiMemorySize));
        vm.Apic(0).WriteRegister(LocalApicRegisters.SpuriousVector, LocalApicRegisters.SoftwareEnable);
        var smi = new MsiMessage(MsiMessage.AddressBase, ((uint)MsiDeliveryMode.Smi << MsiMessage.DeliveryModeShift) | RoutingGuests.MsiVector);

        Assert.False(vm.Interrupts.SignalMsi(MsiMessage.Fixed(0, RoutingGuests.MsiVector) with { Address = 0xFED0_0000 }));
        Assert.False(vm.Interrupts.SignalMsi(smi));

        Assert.Equal(2, vm.DroppedMsis);
        Assert.False(vm.Apic(0).HasRequests);
        Assert.True(vm.Interrupts.SignalMsi(MsiMessage.Fixed(0, RoutingGuests.MsiVector)));
        Assert.True(vm.Apic(0).HasRequests);
    }

    [Fact]
    public void A_broadcast_msi_reaches_every_enabled_apic()
    {
        using var vm = new EmulatorVm(new VmSpec("broadcast", RoutingGuests.MsiMemorySize, TwoVcpus));
        for (int i = 0; i < TwoVcpus; i++)
        {
            vm.Apic(i).WriteRegister(LocalApicRegisters.SpuriousVector, LocalApicRegisters.SoftwareEnable);
        }

        Assert.True(vm.Interrupts.SignalMsi(MsiMessage.Fixed(MsiMessage.BroadcastDestination, RoutingGuests.MsiVector)));

        Assert.All(Enumerable.Range(0, TwoVcpus), i => Assert.True(vm.Apic(i).HasRequests));
    }

    [Fact]
    public void A_disposed_route_refuses_to_trigger_or_update()
    {
        using var vm = new EmulatorVm(new VmSpec("route", RoutingGuests.MsiMemorySize));
        var route = vm.Interrupts.CreateMsiRoute(MsiMessage.Fixed(0, RoutingGuests.MsiVector));

        route.Dispose();

        Assert.Throws<ObjectDisposedException>(route.Trigger);
        Assert.Throws<ObjectDisposedException>(() => route.Update(MsiMessage.Fixed(0, RoutingGuests.MsiVector)));
    }

    [Fact]
    public void Each_device_source_on_a_gsi_is_its_own_and_the_controller_sees_only_changes_of_their_or()
    {
        using var vm = new EmulatorVm(new VmSpec("sources", RoutingGuests.MsiMemorySize));
        var controller = new LevelRecordingController();
        vm.AttachInterruptController(controller);
        var com1 = vm.Interrupts.GetSource(RoutingGuests.LevelIrq, "com1");
        var com3 = vm.Interrupts.GetSource(RoutingGuests.LevelIrq, "com3");

        com1.SetLevel(true);
        com3.SetLevel(true);
        com3.SetLevel(false);
        Assert.True(vm.Interrupts.IsAsserted(RoutingGuests.LevelIrq));
        com1.SetLevel(false);

        Assert.Equal([(RoutingGuests.LevelIrq, true), (RoutingGuests.LevelIrq, false)], controller.Levels);
        Assert.Same(com1, vm.Interrupts.GetSource(RoutingGuests.LevelIrq, "com1"));
        Assert.NotSame(vm.GetInterruptLine(RoutingGuests.LevelIrq), com1);
    }

    private sealed class LevelRecordingController : IInterruptController
    {
        public event Action? InterruptRequested;

        public List<(int Irq, bool Level)> Levels { get; } = [];

        public bool HasPendingInterrupt => false;

        public void SetIrqLevel(int irq, bool asserted)
        {
            Levels.Add((irq, asserted));
            if (asserted)
            {
                InterruptRequested?.Invoke();
            }
        }

        public bool TryAcknowledge(out byte vector)
        {
            vector = 0;
            return false;
        }
    }
}
