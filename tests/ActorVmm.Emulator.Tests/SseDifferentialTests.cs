using System.Text;
using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Random sequences of the SSE/SSE2 moves, bitwise logic and packed-integer operations the emulator implements
/// (register, GPR and memory forms)
/// run on the emulator and on Unicorn in 64-bit mode, one instruction at a time; every GPR, XMM0-15 and the data area
/// are compared after each step.
/// </summary>
public sealed class SseDifferentialTests(ITestOutputHelper output)
{
    private const int FixedSeed = 20_261_129;
    private const int FixedCases = 600;
    private const int RandomCases = 200;
    private const int InstructionsPerCase = 8;
    private const ulong CodeBase = 0x1_0000;
    private const ulong CodeSlot = 0x100;
    internal const ulong DataAddress = 0x8000;
    internal const int DataSize = 0x100;
    private const ulong StackPointer = 0x7000;
    private const ulong ProbeLow = 0x0123_4567_89AB_CDEF;

    private static readonly AssemblerRegisterXMM[] Xmms = [xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15];
    private static readonly AssemblerRegister64[] Gpr64s = [rax, rcx, rdx, rsi, rdi, r8, r9, r15];
    private static readonly AssemblerRegister32[] Gpr32s = [eax, ecx, edx, esi, edi, r8d, r9d, r15d];

    [Fact]
    public void The_unicorn_xmm_register_id_is_right()
    {
        Assert.True(Unicorn.IsAvailable(out string error), error);
        using var reference = new ReferenceCpu(64);
        var asm = new Assembler(64);
        asm.movq(rax, xmm0);
        byte[] code = Assemble(asm, CodeBase);
        reference.WriteCode(CodeBase, code);
        reference.WriteXmm(0, ProbeLow, ~ProbeLow);
        reference.Rip = CodeBase;

        reference.Step(CodeBase + (ulong)code.Length);

        Assert.Equal(ProbeLow, reference.ReadGpr(X86Core.RAX));
    }

    [Fact]
    public void Random_sse_move_logic_and_packed_integer_sequences_match_unicorn()
    {
        Assert.True(Unicorn.IsAvailable(out string error), error);
        int randomSeed = Random.Shared.Next();
        output.WriteLine($"fixed seed {FixedSeed} ({FixedCases} cases), random seed {randomSeed} ({RandomCases} cases)");
        RunCampaign(FixedSeed, FixedCases);
        RunCampaign(randomSeed, RandomCases);
    }

    private static void RunCampaign(int seed, int cases)
    {
        using var reference = new ReferenceCpu(64);
        using var vm = new EmulatorVm(new VmSpec("sse-diff", ReferenceCpu.MemorySize));
        var core = vm.Core(0);
        var random = new Random(seed);
        for (int n = 0; n < cases; n++)
        {
            ulong codeAddress = CodeBase + ((ulong)n * CodeSlot);
            Assert.True(codeAddress + CodeSlot <= ReferenceCpu.MemorySize, "more cases than code slots");
            var asm = new Assembler(64);
            var names = new List<string>();
            for (int i = 0; i < InstructionsPerCase; i++)
            {
                names.Add(Emit(asm, random));
            }

            byte[] code = Assemble(asm, codeAddress);
            Assert.True((ulong)code.Length <= CodeSlot, "a case's code is larger than its slot");
            vm.Memory.Write(codeAddress, code);
            reference.WriteCode(codeAddress, code);
            core.SetFlatMode(64);
            core.Cr4 |= X86Core.Cr4OSFXSR | X86Core.Cr4OSXMMEXCPT;
            core.Rip = codeAddress;
            reference.Rip = codeAddress;
            for (int r = 0; r < reference.GprCount; r++)
            {
                ulong value = r == X86Core.RSP ? StackPointer : r == X86Core.RBX ? DataAddress : NextValue(random);
                core.Gpr[r] = value;
                reference.WriteGpr(r, value);
            }

            for (int x = 0; x < Xmms.Length; x++)
            {
                ulong low = NextValue(random);
                ulong high = NextValue(random);
                core.Xmm[2 * x] = low;
                core.Xmm[(2 * x) + 1] = high;
                reference.WriteXmm(x, low, high);
            }

            byte[] data = new byte[DataSize];
            random.NextBytes(data);
            vm.Memory.Write(DataAddress, data);
            reference.WriteMemory(DataAddress, data);

            var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code));
            decoder.IP = codeAddress;
            for (int i = 0; i < InstructionsPerCase; i++)
            {
                decoder.Decode(out var instruction);
                core.StepForTest();
                reference.Step(instruction.NextIP);
                string? mismatch = Compare(core, vm, reference);
                if (mismatch is not null)
                {
                    Assert.Fail($"seed {seed} case {n} instruction {i} '{instruction}': {mismatch}\nsequence: {string.Join("; ", names)}");
                }
            }
        }
    }

    private static string Emit(Assembler asm, Random random)
    {
        var a = Xmms[random.Next(Xmms.Length)];
        var b = Xmms[random.Next(Xmms.Length)];
        int slot = random.Next(DataSize / 16);
        var aligned = __xmmword_ptr[rbx + (slot * 16)];
        var unaligned = __xmmword_ptr[rbx + random.Next(DataSize - 16)];
        int choice = random.Next(76);
        switch (choice)
        {
            case 0: asm.movdqa(a, b); return "movdqa x,x";
            case 1: asm.movaps(a, b); return "movaps x,x";
            case 2: asm.movupd(a, b); return "movupd x,x";
            case 3: asm.pxor(a, b); return "pxor";
            case 4: asm.por(a, b); return "por";
            case 5: asm.pand(a, b); return "pand";
            case 6: asm.pandn(a, b); return "pandn";
            case 7: asm.xorps(a, b); return "xorps";
            case 8: asm.andnpd(a, b); return "andnpd";
            case 9: asm.orps(a, aligned); return "orps x,m";
            case 10: asm.movd(a, Gpr32s[random.Next(Gpr32s.Length)]); return "movd x,r32";
            case 11: asm.movq(a, Gpr64s[random.Next(Gpr64s.Length)]); return "movq x,r64";
            case 12: asm.movd(Gpr32s[random.Next(Gpr32s.Length)], a); return "movd r32,x";
            case 13: asm.movq(Gpr64s[random.Next(Gpr64s.Length)], a); return "movq r64,x";
            case 14: asm.movq(a, b); return "movq x,x";
            case 15: asm.movdqu(a, unaligned); return "movdqu x,m";
            case 16: asm.movdqu(unaligned, a); return "movdqu m,x";
            case 17: asm.movdqa(a, aligned); return "movdqa x,m";
            case 18: asm.movaps(aligned, a); return "movaps m,x";
            case 19: asm.movq(a, __qword_ptr[rbx + random.Next(DataSize - 8)]); return "movq x,m64";
            case 20: asm.movq(__qword_ptr[rbx + random.Next(DataSize - 8)], a); return "movq m64,x";
            case 21: asm.movntdq(aligned, a); return "movntdq m,x";
            case 22: asm.punpcklbw(a, b); return "punpcklbw";
            case 23: asm.punpcklwd(a, b); return "punpcklwd";
            case 24: asm.punpckldq(a, aligned); return "punpckldq x,m";
            case 25: asm.punpcklqdq(a, b); return "punpcklqdq";
            case 26: asm.punpckhbw(a, b); return "punpckhbw";
            case 27: asm.punpckhwd(a, b); return "punpckhwd";
            case 28: asm.punpckhdq(a, b); return "punpckhdq";
            case 29: asm.punpckhqdq(a, b); return "punpckhqdq";
            case 30: asm.pcmpeqb(a, random.Next(2) == 0 ? a : b); return "pcmpeqb";
            case 31: asm.pcmpeqw(a, b); return "pcmpeqw";
            case 32: asm.pcmpeqd(a, aligned); return "pcmpeqd x,m";
            case 33: asm.pminub(a, b); return "pminub";
            case 34: asm.pmaxub(a, b); return "pmaxub";
            case 35: asm.paddb(a, b); return "paddb";
            case 36: asm.paddd(a, b); return "paddd";
            case 37: asm.psubw(a, b); return "psubw";
            case 38: asm.psubq(a, b); return "psubq";
            case 39: asm.pshufd(a, b, (byte)random.Next(256)); return "pshufd";
            case 40: asm.pmovmskb(Gpr32s[random.Next(Gpr32s.Length)], a); return "pmovmskb";
            case 41: asm.psrldq(a, (byte)random.Next(18)); return "psrldq";
            case 42: asm.pslldq(a, (byte)random.Next(18)); return "pslldq";
            case 43: asm.movhps(a, __qword_ptr[rbx + random.Next(DataSize - 8)]); return "movhps x,m";
            case 44: asm.movlpd(a, __qword_ptr[rbx + random.Next(DataSize - 8)]); return "movlpd x,m";
            case 45: asm.movhpd(__qword_ptr[rbx + random.Next(DataSize - 8)], a); return "movhpd m,x";
            case 46: asm.movlps(__qword_ptr[rbx + random.Next(DataSize - 8)], a); return "movlps m,x";
            case 47: asm.movlhps(a, b); return "movlhps";
            case 48: asm.movhlps(a, b); return "movhlps";
            case 49: asm.pcmpgtb(a, b); return "pcmpgtb";
            case 50: asm.pcmpgtw(a, b); return "pcmpgtw";
            case 51: asm.pcmpgtd(a, aligned); return "pcmpgtd x,m";
            case 53: asm.paddusb(a, b); return "paddusb";
            case 54: asm.psubusw(a, b); return "psubusw";
            case 55: asm.paddsw(a, aligned); return "paddsw x,m";
            case 56: asm.psubsb(a, b); return "psubsb";
            case 57: asm.pminsw(a, b); return "pminsw";
            case 58: asm.pmaxsw(a, b); return "pmaxsw";
            case 59: asm.pavgb(a, b); return "pavgb";
            case 60: asm.pavgw(a, b); return "pavgw";
            case 61: asm.pmullw(a, b); return "pmullw";
            case 62: asm.pmulhw(a, b); return "pmulhw";
            case 63: asm.pmulhuw(a, aligned); return "pmulhuw x,m";
            case 64: asm.pmuludq(a, b); return "pmuludq";
            case 65: asm.pmaddwd(a, b); return "pmaddwd";
            case 66: asm.psadbw(a, b); return "psadbw";
            case 67: asm.packsswb(a, b); return "packsswb";
            case 68: asm.packssdw(a, b); return "packssdw";
            case 69: asm.packuswb(a, aligned); return "packuswb x,m";
            case 70: asm.pshuflw(a, b, (byte)random.Next(256)); return "pshuflw";
            case 71: asm.pshufhw(a, aligned, (byte)random.Next(256)); return "pshufhw x,m";
            case 72: asm.pextrw(Gpr32s[random.Next(Gpr32s.Length)], a, (byte)random.Next(8)); return "pextrw";
            case 73: asm.pinsrw(a, Gpr32s[random.Next(Gpr32s.Length)], (byte)random.Next(8)); return "pinsrw x,r32";
            case 74: asm.pinsrw(a, __word_ptr[rbx + random.Next(DataSize - 2)], (byte)random.Next(8)); return "pinsrw x,m16";
            case 75:
            {
                // Shift counts from a register: the whole low quadword counts, so random registers mostly shift everything out.
                var shiftCount = Xmms[random.Next(Xmms.Length)];
                switch (random.Next(8))
                {
                    case 0: asm.psrlw(a, shiftCount); return "psrlw x";
                    case 1: asm.psrld(a, shiftCount); return "psrld x";
                    case 2: asm.psrlq(a, aligned); return "psrlq m";
                    case 3: asm.psllw(a, shiftCount); return "psllw x";
                    case 4: asm.pslld(a, shiftCount); return "pslld x";
                    case 5: asm.psllq(a, shiftCount); return "psllq x";
                    case 6: asm.psraw(a, shiftCount); return "psraw x";
                    default: asm.psrad(a, (byte)random.Next(40)); return "psrad imm";
                }
            }
            default:
                byte count = (byte)random.Next(70);
                switch (random.Next(6))
                {
                    case 0: asm.psrlw(a, count); return "psrlw imm";
                    case 1: asm.psrld(a, count); return "psrld imm";
                    case 2: asm.psrlq(a, count); return "psrlq imm";
                    case 3: asm.psllw(a, count); return "psllw imm";
                    case 4: asm.pslld(a, count); return "pslld imm";
                    default: asm.psllq(a, count); return "psllq imm";
                }
        }
    }

    private static ulong NextValue(Random random) => (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);

    internal static byte[] Assemble(Assembler asm, ulong address)
    {
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), address);
        return stream.ToArray();
    }

    /// <summary>Every GPR, XMM0-15, RIP and the data area, emulator against Unicorn; null when they agree.</summary>
    internal static string? Compare(X86Core core, EmulatorVm vm, ReferenceCpu reference)
    {
        var problems = new StringBuilder();
        for (int r = 0; r < reference.GprCount; r++)
        {
            if (core.Gpr[r] != reference.ReadGpr(r))
            {
                problems.Append($"r{r} emulator 0x{core.Gpr[r]:X} unicorn 0x{reference.ReadGpr(r):X}; ");
            }
        }

        for (int x = 0; x < Xmms.Length; x++)
        {
            var theirs = reference.ReadXmm(x);
            var ours = (core.Xmm[2 * x], core.Xmm[(2 * x) + 1]);
            if (ours != theirs)
            {
                problems.Append($"xmm{x} emulator {ours} unicorn {theirs}; ");
            }
        }

        if (core.Rip != reference.Rip)
        {
            problems.Append($"rip emulator 0x{core.Rip:X} unicorn 0x{reference.Rip:X}; ");
        }

        byte[] ourData = new byte[DataSize];
        vm.Memory.Read(DataAddress, ourData);
        if (!ourData.AsSpan().SequenceEqual(reference.ReadMemory(DataAddress, DataSize)))
        {
            problems.Append("data area differs; ");
        }

        return problems.Length == 0 ? null : problems.ToString();
    }
}
