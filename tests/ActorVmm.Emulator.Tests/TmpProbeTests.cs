using System.Diagnostics;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using Xunit.Abstractions;

namespace ActorVmm.Emulator.Tests;

public sealed class TmpProbeTests(ITestOutputHelper output)
{
    [Fact]
    public void Probe()
    {
        foreach (bool jit in new[] { false, true, false, true })
        {
            using var vm = new EmulatorVm(new VmSpec("p", 512 * 1024));
            FlatBinaryLoader.Load(vm.Memory, IoGuests.AluLoop(5_000_000));
            var core = vm.Core(0);
            core.SetEntryState(RealModeEntry.FlatBinary);
            core.TranslationEnabled = jit;
            var sw = Stopwatch.StartNew();
            var exit = core.Run();
            while (exit.Reason == VcpuExitReason.Halt || exit.Reason == VcpuExitReason.Interrupted)
            {
                if (exit.Reason == VcpuExitReason.Halt) break;
                exit = core.Run();
            }
            output.WriteLine($"jit={jit} exit={exit.Reason} retired={core.InstructionsRetired} {sw.Elapsed.TotalMilliseconds} ms translated={core.BlocksTranslated} entered={core.BlocksEntered} ns/instr={sw.Elapsed.TotalNanoseconds / core.InstructionsRetired:F2}");
        }
    }
}
