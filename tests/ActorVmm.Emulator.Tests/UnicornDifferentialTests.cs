using System.Text;
using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;
using Xunit.Abstractions;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Runs random straight-line ALU sequences on the emulator and on Unicorn, one instruction at a time,
/// comparing every register and the flags Intel defines for that instruction. After each step the
/// emulator takes Unicorn's flags so an undefined flag cannot spread into later comparisons.
/// </summary>
public sealed class UnicornDifferentialTests(ITestOutputHelper output)
{
    private const int FixedSeed = 20_261_125;
    private const int FixedCases = 3000;
    private const int RandomCases = 1000;
    private const int InstructionsPerCase = 8;
    /// <summary>Each case gets fresh code bytes at its own address: Unicorn keeps translated blocks across uc_mem_write.</summary>
    private const ulong CodeBase = 0x1_0000;
    private const ulong CodeSlot = 0x80;
    private const ulong StackPointer = 0x8000;
    private const ulong StatusFlags = 0x8D5;
    private const ulong OF = 0x800;
    private const ulong SF = 0x80;
    private const ulong ZF = 0x40;
    private const ulong AF = 0x10;
    private const ulong PF = 0x4;
    private const ulong CF = 0x1;

    [Fact]
    public void Random_alu_sequences_match_unicorn_in_32_bit_mode() => RunCampaigns(32);

    [Fact]
    public void Random_alu_sequences_match_unicorn_in_64_bit_mode() => RunCampaigns(64);

    private void RunCampaigns(int bitness)
    {
        // Loud failure when the reference is missing: ./build.sh test installs libunicorn2, so absence is a broken setup.
        Assert.True(Unicorn.IsAvailable(out string error), error);
        int randomSeed = Random.Shared.Next();
        output.WriteLine($"{bitness}-bit: fixed seed {FixedSeed} ({FixedCases} cases), random seed {randomSeed} ({RandomCases} cases)");
        RunCampaign(bitness, FixedSeed, FixedCases);
        RunCampaign(bitness, randomSeed, RandomCases);
    }

    private static void RunCampaign(int bitness, int seed, int cases)
    {
        using var reference = new ReferenceCpu(bitness);
        using var vm = new EmulatorVm(new VmSpec("diff", ReferenceCpu.MemorySize));
        var core = vm.Core(0);
        var generator = new AluSequenceGenerator(seed, bitness);
        for (int n = 0; n < cases; n++)
        {
            ulong codeAddress = CodeBase + ((ulong)n * CodeSlot);
            Assert.True(codeAddress + CodeSlot <= ReferenceCpu.MemorySize, "more cases than code slots");
            var instructions = new List<Instruction>();
            var ends = new List<ulong>();
            var code = new List<byte>();
            var writer = new ByteWriter(code);
            var encoder = Iced.Intel.Encoder.Create(bitness, writer);
            for (int i = 0; i < InstructionsPerCase; i++)
            {
                var instruction = generator.Next();
                encoder.Encode(instruction, codeAddress + (ulong)code.Count);
                instructions.Add(instruction);
                ends.Add(codeAddress + (ulong)code.Count);
            }

            byte[] bytes = [.. code];
            vm.Memory.Write(codeAddress, bytes);
            reference.WriteCode(codeAddress, bytes);
            core.SetFlatMode(bitness);
            core.Rip = codeAddress;
            reference.Rip = codeAddress;
            for (int r = 0; r < reference.GprCount; r++)
            {
                ulong value = r == X86Core.RSP ? StackPointer : generator.NextValue();
                core.Gpr[r] = value;
                reference.WriteGpr(r, value);
            }

            ulong flags = generator.NextFlags();
            core.Flags = flags;
            reference.Flags = flags;

            for (int i = 0; i < instructions.Count; i++)
            {
                var instruction = instructions[i];
                ulong undefined = UndefinedFlags(instruction, core);
                core.StepForTest();
                reference.Step(ends[i]);
                string? mismatch = Compare(core, reference, undefined);
                if (mismatch is not null)
                {
                    Assert.Fail($"{bitness}-bit seed {seed} case {n} instruction {i} '{instruction}' ({instruction.Code}): {mismatch}\nsequence: {string.Join("; ", instructions)}");
                }

                core.Flags = reference.Flags | 0x2;
            }
        }
    }

    private static string? Compare(X86Core core, ReferenceCpu reference, ulong undefined)
    {
        var problems = new StringBuilder();
        ulong mask = reference.Bitness == 64 ? ulong.MaxValue : 0xFFFF_FFFF;
        for (int r = 0; r < reference.GprCount; r++)
        {
            ulong ours = core.Gpr[r] & mask;
            ulong theirs = reference.ReadGpr(r);
            if (ours != theirs)
            {
                problems.Append($"r{r} emulator 0x{ours:X} unicorn 0x{theirs:X}; ");
            }
        }

        if ((core.Rip & mask) != reference.Rip)
        {
            problems.Append($"rip emulator 0x{core.Rip:X} unicorn 0x{reference.Rip:X}; ");
        }

        ulong compared = StatusFlags & ~undefined;
        if (((core.Flags ^ reference.Flags) & compared) != 0)
        {
            problems.Append($"flags emulator 0x{core.Flags & StatusFlags:X} unicorn 0x{reference.Flags & StatusFlags:X} (compared bits 0x{compared:X}); ");
        }

        return problems.Length == 0 ? null : problems.ToString();
    }

    /// <summary>Flags Intel leaves undefined after <paramref name="instruction"/>, given the state before it.</summary>
    private static ulong UndefinedFlags(in Instruction instruction, X86Core core)
    {
        int size = instruction.Op0Kind == OpKind.Register ? instruction.Op0Register.GetSize() : 0;
        switch (instruction.Mnemonic)
        {
            case Mnemonic.And:
            case Mnemonic.Or:
            case Mnemonic.Xor:
            case Mnemonic.Test:
                return AF;
            case Mnemonic.Mul:
            case Mnemonic.Imul:
                return SF | ZF | AF | PF;
            case Mnemonic.Bt:
            case Mnemonic.Bts:
            case Mnemonic.Btr:
            case Mnemonic.Btc:
                return OF | SF | ZF | AF | PF;
            case Mnemonic.Shl:
            case Mnemonic.Shr:
            case Mnemonic.Sar:
            case Mnemonic.Rol:
            case Mnemonic.Ror:
            case Mnemonic.Rcl:
            case Mnemonic.Rcr:
            {
                ulong raw = instruction.Op1Kind switch
                {
                    OpKind.Register => core.Gpr[X86Core.RCX] & 0xFF,
                    _ => instruction.GetImmediate(1),
                };
                int count = (int)(raw & (size == 8 ? 0x3FUL : 0x1FUL));
                if (count == 0)
                {
                    return 0;
                }

                bool rotate = instruction.Mnemonic is Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr;
                ulong undefined = count != 1 ? OF : 0;
                if (!rotate)
                {
                    undefined |= AF;
                    if (count >= size * 8)
                    {
                        undefined |= CF;
                    }
                }

                return undefined;
            }

            default:
                return 0;
        }
    }

    private sealed class ByteWriter(List<byte> bytes) : CodeWriter
    {
        public override void WriteByte(byte value) => bytes.Add(value);
    }
}
