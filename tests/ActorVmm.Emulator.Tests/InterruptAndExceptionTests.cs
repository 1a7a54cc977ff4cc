using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.Emulator.Tests;

public sealed class InterruptAndExceptionTests
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    [Fact]
    public void Int_n_runs_the_ivt_handler_and_iret_resumes_after_the_int()
    {
        using var harness = new EmulatorHarness(InterruptGuests.SoftwareInterrupt());
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 2);

        harness.RunToCompletion();

        Assert.Equal([(ulong)InterruptGuests.MarkerHandler, InterruptGuests.MarkerResumed], results.ToArray());
        Assert.Equal(0, harness.ExitStatus);
    }

    [Fact]
    public void External_interrupt_wakes_a_halted_vcpu_and_runs_its_handler()
    {
        using var harness = new EmulatorHarness(InterruptGuests.ExternalInterruptWhileHalted());
        var controller = new FakeInterruptController();
        harness.Vm.AttachInterruptController(controller);
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 2);
        var core = harness.Vm.Core(0);

        harness.Vm.Vcpus[0].Start();
        Assert.True(SpinWait.SpinUntil(() => core.IsHalted, EmulatorHarness.GuestTimeout), "the guest never halted");
        Assert.Equal([(ulong)InterruptGuests.MarkerReady], results.ToArray());
        controller.Raise(InterruptGuests.ExternalVector);

        Assert.NotNull(EmulatorHarness.WaitForExit(harness.Vm.Vcpus[0], EmulatorHarness.GuestTimeout));
        Assert.Equal([(ulong)InterruptGuests.MarkerReady, InterruptGuests.MarkerHandler, InterruptGuests.MarkerResumed], results.ToArray());
        Assert.Equal(1, controller.Acknowledged);
    }

    [Fact]
    public void Halted_vcpu_with_interrupts_disabled_stays_halted_until_stopped()
    {
        using var harness = new EmulatorHarness(IoGuests.HaltForever());
        var controller = new FakeInterruptController();
        harness.Vm.AttachInterruptController(controller);
        var vcpu = harness.Vm.Vcpus[0];
        vcpu.Start();
        Assert.True(SpinWait.SpinUntil(() => harness.Vm.Core(0).IsHalted, EmulatorHarness.GuestTimeout));
        long retired = harness.Vm.InstructionsRetired(0);

        controller.Raise(InterruptGuests.ExternalVector);
        Thread.Sleep(PollInterval * 10);

        Assert.Equal(retired, harness.Vm.InstructionsRetired(0));
        Assert.Equal(0, controller.Acknowledged);
        Assert.True(vcpu.Stop(EmulatorHarness.GuestTimeout));
        Assert.Equal(VcpuExitReason.Stopped, EmulatorHarness.WaitForExit(vcpu, EmulatorHarness.GuestTimeout)?.Reason);
    }

    [Fact]
    public void Divide_by_zero_delivers_de_with_the_faulting_ip_on_the_stack()
    {
        using var harness = new EmulatorHarness(InterruptGuests.DivideError(out ushort faultingIp));
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 2);

        harness.RunToCompletion();

        Assert.Equal(InterruptGuests.HandledStatus, harness.ExitStatus);
        Assert.Equal([(ulong)faultingIp + DivInstructionOffset], results.ToArray());
    }

    [Fact]
    public void Undefined_opcode_delivers_ud_to_the_guest_handler()
    {
        using var harness = new EmulatorHarness(InterruptGuests.InvalidOpcode(out ushort faultingIp));
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 2);

        harness.RunToCompletion();

        Assert.Equal(InterruptGuests.HandledStatus, harness.ExitStatus);
        Assert.Equal([(ulong)faultingIp], results.ToArray());
    }

    /// <summary><c>xor cx, cx</c> (2 bytes) and <c>mov ax, 1</c> (3 bytes) precede the DIV in the #DE guest.</summary>
    private const int DivInstructionOffset = 5;
}
