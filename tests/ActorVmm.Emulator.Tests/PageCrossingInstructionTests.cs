using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// An instruction that crosses a page end is decoded from both pages; the decoded form is kept (a hot one would be
/// decoded on every run) only while neither page is written.
/// </summary>
public sealed class PageCrossingInstructionTests : IDisposable
{
    private const ulong Memory = 16 * 1024 * 1024;
    private const ulong PageEnd = 0x2000;
    private const ulong CrossingInstruction = PageEnd - 2; // mov eax, imm32: opcode and one byte before, three after
    private const uint Passes = 40;
    private const uint PatchAt = 21;
    private const uint FirstImmediate = 0x0011_2233;
    private const byte PatchedByte = 0x77;
    private const int PatchedByteIndex = 2; // the immediate's third byte, on the second page
    private const uint PatchedImmediate = (FirstImmediate & ~0x00FF_0000u) | ((uint)PatchedByte << 16);

    private readonly EmulatorVm _vm = new(new VmSpec("page-crossing", Memory));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_hot_instruction_across_a_page_end_runs_its_new_bytes_once_the_second_page_is_written(bool translate)
    {
        // top: mov eax, imm32 (across the page end) ; add ebx, eax ; at pass PatchAt: mov byte [imm32 + 2], PatchedByte.
        ulong patchAddress = CrossingInstruction + 1 + PatchedByteIndex;
        Assert.True(patchAddress >= PageEnd);
        Label[] Build(Assembler asm, Func<string, ulong> address)
        {
            var top = asm.CreateLabel("top");
            var skip = asm.CreateLabel();
            asm.mov(ecx, Passes);
            asm.xor(ebx, ebx);
            asm.Label(ref top);
            asm.mov(eax, FirstImmediate);
            asm.add(ebx, eax);
            asm.cmp(ecx, PatchAt);
            asm.jne(skip);
            asm.mov(__byte_ptr[patchAddress], PatchedByte);
            asm.Label(ref skip);
            asm.dec(ecx);
            asm.jnz(top);
            asm.hlt();
            return [top];
        }

        GuestAssembler.AssembleWithLabels(32, 0, Build, out var probe);
        ulong origin = CrossingInstruction - probe["top"];
        byte[] code = GuestAssembler.AssembleWithLabels(32, origin, Build, out _);
        _vm.Memory.Write(origin, code);
        var core = _vm.Core(0);
        core.SetFlatMode(32);
        core.TranslationEnabled = translate;
        core.CompileInBackground = false;
        core.TranslationThreshold = 1;
        core.Rip = origin;

        Assert.Equal(VcpuExitReason.Halt, EmulatorHarness.RunWithin(core).Reason);

        uint before = Passes - PatchAt + 1;
        Assert.Equal((ulong)(uint)((before * FirstImmediate) + ((Passes - before) * PatchedImmediate)), core.Gpr[X86Core.RBX]);
    }

    public void Dispose() => _vm.Dispose();
}
