using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.Emulator.Tests;

public sealed class BadGuestTests
{
    /// <summary>A segment whose base (0xF0000) lies beyond the harness's 512 KiB of RAM.</summary>
    private const ushort SegmentOutsideRam = 0xF000;

    private static readonly TimeSpan RunBriefly = TimeSpan.FromMilliseconds(200);

    [Fact]
    public void Undefined_opcode_without_a_handler_is_an_internal_error_with_diagnostics()
    {
        using var harness = new EmulatorHarness(IoGuests.UndefinedOpcode());

        var exit = harness.RunToCompletion();

        Assert.Equal(VcpuExitReason.InternalError, exit.Reason);
        Assert.NotNull(exit.Diagnostics);
        Assert.Equal(FlatBinaryLoader.LoadAddress, exit.Diagnostics.InstructionPointer);
        Assert.Equal(IoGuests.UndefinedOpcode(), exit.Diagnostics.InstructionBytes.Take(IoGuests.UndefinedOpcode().Length).ToArray());
        Assert.Contains("rax", exit.Diagnostics.Registers.Keys);
    }

    [Fact]
    public void Jump_outside_ram_is_an_internal_error_naming_the_address()
    {
        using var harness = new EmulatorHarness(IoGuests.JumpFar(SegmentOutsideRam));

        var exit = harness.RunToCompletion();

        Assert.Equal(VcpuExitReason.InternalError, exit.Reason);
        Assert.Contains("not RAM", exit.Message, StringComparison.Ordinal);
        Assert.Equal((ulong)SegmentOutsideRam << 4, exit.Diagnostics!.InstructionPointer);
        Assert.Empty(exit.Diagnostics.InstructionBytes);
    }

    [Fact]
    public void Runaway_recursion_ends_in_an_error_or_can_be_stopped()
    {
        using var harness = new EmulatorHarness(IoGuests.RunawayRecursion());
        var vcpu = harness.Vm.Vcpus[0];
        vcpu.Start();

        var exit = EmulatorHarness.WaitForExit(vcpu, RunBriefly);
        if (exit is null)
        {
            Assert.True(vcpu.Stop(EmulatorHarness.GuestTimeout));
            exit = EmulatorHarness.WaitForExit(vcpu, EmulatorHarness.GuestTimeout);
        }

        Assert.NotNull(exit);
        Assert.Contains(exit.Reason, new[] { VcpuExitReason.InternalError, VcpuExitReason.Reset, VcpuExitReason.Stopped });
    }

    [Fact]
    public void Never_halting_guest_stops_promptly_on_request()
    {
        using var harness = new EmulatorHarness(IoGuests.SpinForever());
        var vcpu = harness.Vm.Vcpus[0];
        vcpu.Start();
        Thread.Sleep(RunBriefly);

        Assert.True(vcpu.Stop(EmulatorHarness.GuestTimeout));
        Assert.Equal(VcpuExitReason.Stopped, EmulatorHarness.WaitForExit(vcpu, EmulatorHarness.GuestTimeout)?.Reason);
        Assert.True(harness.Vm.InstructionsRetired(0) > 0);
    }

    [Fact]
    public async Task Spinning_guest_pauses_and_resumes()
    {
        using var harness = new EmulatorHarness(IoGuests.SpinForever());
        var vcpu = harness.Vm.Vcpus[0];
        vcpu.Start();
        Thread.Sleep(RunBriefly);

        await vcpu.Pause().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(VcpuRunState.Paused, vcpu.State);
        long retired = harness.Vm.InstructionsRetired(0);
        Thread.Sleep(RunBriefly);
        Assert.Equal(retired, harness.Vm.InstructionsRetired(0));

        vcpu.Resume();
        Assert.True(SpinWait.SpinUntil(() => harness.Vm.InstructionsRetired(0) > retired, EmulatorHarness.GuestTimeout));
        Assert.True(vcpu.Stop(EmulatorHarness.GuestTimeout));
    }
}
