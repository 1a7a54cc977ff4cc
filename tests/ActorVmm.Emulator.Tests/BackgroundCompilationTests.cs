using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Blocks compiled on the compiler thread (<see cref="BackgroundBlockCompiler"/>): the vCPU interprets until the block
/// comes back, installs it between batches, and drops it if the guest's code changed while it compiled.
/// </summary>
public sealed class BackgroundCompilationTests : IDisposable
{
    private const ulong Memory = 16 * 1024 * 1024;
    private const ulong CodeAddress = 0x1000;
    private const ushort OutputPort = 0xE0;
    private const byte FirstImmediate = 0x11;
    private const byte PatchedImmediate = 0x22;
    private const int ImmediateOffset = 1; // mov al, imm8 is B0 ib

    // The first pass interprets `mov` and `out`; only `mov` starts a block (the batch begins there), `out` follows it
    // in straight-line code and counts nothing, so one block is queued.
    private const int BlocksQueuedByTheFirstPass = 1;

    private readonly EmulatorVm _vm = new(new VmSpec("background-blocks", Memory));
    private readonly List<ulong> _outputs = [];
    private int _exitAfterOutputs;

    public BackgroundCompilationTests()
    {
        var traps = _vm.Traps.ClaimWriter();
        traps.Register(TrapBus.Pio, OutputPort, 1, access =>
        {
            if (access.IsWrite)
            {
                _outputs.Add(access.Value);
                if (_outputs.Count == _exitAfterOutputs)
                {
                    Core.RequestExit();
                }
            }
        }, name: "output");
    }

    private X86Core Core => _vm.Core(0);

    [Fact]
    public void A_compiled_block_is_installed_at_the_next_batch_and_runs()
    {
        RunFirstPassAndWaitForTheCompiler();

        Assert.Equal(VcpuExitReason.Interrupted, RunUntilOutputs(3).Reason);

        Assert.Equal([FirstImmediate, FirstImmediate, FirstImmediate], _outputs);
        Assert.Equal(BlocksQueuedByTheFirstPass, Core.BlocksTranslated);
        Assert.True(Core.BlocksEntered >= 1, $"{Core.BlocksEntered} block entries");
    }

    [Fact]
    public void A_block_whose_code_was_rewritten_while_it_compiled_is_dropped_and_the_new_code_runs()
    {
        RunFirstPassAndWaitForTheCompiler();

        _vm.Memory.Write(CodeAddress + ImmediateOffset, [PatchedImmediate]);
        Assert.Equal(VcpuExitReason.Interrupted, RunUntilOutputs(3).Reason);

        Assert.Equal([FirstImmediate, PatchedImmediate, PatchedImmediate], _outputs);
        Assert.Equal(0, Core.BlocksTranslated);
        Assert.Equal(0, Core.BlocksEntered);
    }

    public void Dispose() => _vm.Dispose();

    /// <summary>
    /// Loads `top: mov al, imm8 ; out dx, al ; jmp top`, translated on first sight: the first pass queues the block,
    /// runs interpreted and stops at its output; then waits until the compiler thread has handed the blocks back.
    /// </summary>
    private void RunFirstPassAndWaitForTheCompiler()
    {
        Core.SetFlatMode(32);
        Core.TranslationEnabled = true;
        Core.CompileInBackground = true;
        Core.TranslationThreshold = 1;
        byte[] code = GuestAssembler.AssembleWithLabels(32, CodeAddress, (asm, _) =>
        {
            var top = asm.CreateLabel();
            asm.Label(ref top);
            asm.mov(al, FirstImmediate);
            asm.@out(dx, al);
            asm.jmp(top);
            return [];
        }, out _);
        _vm.Memory.Write(CodeAddress, code);
        Core.Rip = CodeAddress;
        Core.Gpr[X86Core.RDX] = OutputPort;

        Assert.Equal(VcpuExitReason.Interrupted, RunUntilOutputs(1).Reason);
        Assert.Equal(0, Core.BlocksTranslated);
        Assert.True(SpinWait.SpinUntil(() => Core.CompiledBlocksWaiting == BlocksQueuedByTheFirstPass, EmulatorHarness.GuestTimeout), $"{Core.CompiledBlocksWaiting} blocks back from the compiler thread");
    }

    private VcpuExit RunUntilOutputs(int count)
    {
        _exitAfterOutputs = count;
        return EmulatorHarness.RunWithin(Core);
    }
}
