using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.Emulator.Tests;

public sealed class DecodedCacheTests
{
    private const byte Before = 0x11;
    private const byte After = 0x22;

    [Fact]
    public void Guest_store_into_an_already_decoded_instruction_is_seen_on_the_next_execution()
    {
        using var harness = new EmulatorHarness(IoGuests.SelfModifying(Before, After));
        var results = harness.CapturePortWrites(IoGuests.ResultPort);

        harness.RunToCompletion();

        Assert.Equal([(ulong)Before, After], results.ToArray());
    }

    [Fact]
    public void Host_write_over_decoded_code_invalidates_the_cache()
    {
        using var vm = new EmulatorVm(new VmSpec("cache", EmulatorHarness.DefaultMemory));
        var results = new List<ulong>();
        var core = vm.Core(0);
        var traps = vm.Traps.ClaimWriter();
        traps.Register(TrapBus.Pio, IoGuests.ResultPort, 1, access => results.Add(access.Value), name: "result");
        traps.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, _ => core.RequestExit(), name: "exit");

        FlatBinaryLoader.Load(vm.Memory, IoGuests.ReportConstant(Before));
        RunUntilExitRequested(core);
        FlatBinaryLoader.Load(vm.Memory, IoGuests.ReportConstant(After));
        RunUntilExitRequested(core);

        Assert.Equal([(ulong)Before, After], results);
    }

    private static void RunUntilExitRequested(Cpu.X86Core core)
    {
        core.SetEntryState(RealModeEntry.FlatBinary);
        VcpuExit exit;
        do
        {
            exit = core.Run();
        }
        while (exit.Reason == VcpuExitReason.Halt);
        Assert.Equal(VcpuExitReason.Interrupted, exit.Reason);
    }
}
