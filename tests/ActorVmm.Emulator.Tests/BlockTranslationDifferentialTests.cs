using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;
using Xunit.Abstractions;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Translated blocks against the interpreter as the oracle: random loops of register ALU work (translated or not),
/// MOV/LEA, stack-relative loads and stores, ALU and CMOVcc with a memory operand, shifts, IMUL and SETcc, each new
/// flag producer followed at once by a consumer of its flags (Jcc, SETcc, ADC/SBB, CMOVcc), PUSH/POP, CALL/RET, LOCK
/// and memory-destination shift forms and indirect jumps (which blocks hand to the interpreter), run on two cores, one interpreting and one translating every block on first sight
/// and extending it on the next entry; every GPR, RFLAGS, RIP, the instructions retired and the stack/data area must match.
/// </summary>
public sealed class BlockTranslationDifferentialTests(ITestOutputHelper output)
{
    private const int FixedSeed = 20_261_129;
    private const int FixedCases = 300;
    private const int RandomCases = 100;
    private const int InstructionsPerCase = 24;
    private const int LoopPasses = 3;
    private const ulong CodeAddress = 0x1_0000;
    private const ulong StackArea = 0x2_0000;
    private const ulong StackBytes = 0x400;
    private const ulong StackPointer = StackArea + 0x200;
    private const ulong LoopCounterAddress = StackArea + StackBytes;
    private const ulong Memory = 1024 * 1024;

    [Fact]
    public void Random_blocks_match_the_interpreter_in_32_bit_mode() => RunCampaigns(32);

    [Fact]
    public void Random_blocks_match_the_interpreter_in_64_bit_mode() => RunCampaigns(64);

    private void RunCampaigns(int bitness)
    {
        int randomSeed = Random.Shared.Next();
        output.WriteLine($"{bitness}-bit: fixed seed {FixedSeed} ({FixedCases} cases), random seed {randomSeed} ({RandomCases} cases)");
        long translated = RunCampaign(bitness, FixedSeed, FixedCases) + RunCampaign(bitness, randomSeed, RandomCases);
        output.WriteLine($"{translated} blocks translated");
    }

    private static long RunCampaign(int bitness, int seed, int cases)
    {
        using var interpreted = new EmulatorVm(new VmSpec("interpreted", Memory));
        using var translated = new EmulatorVm(new VmSpec("translated", Memory));
        var generator = new AluSequenceGenerator(seed, bitness);
        var random = new Random(seed);
        for (int n = 0; n < cases; n++)
        {
            byte[] code = BuildCase(generator, random, bitness);
            byte[] stack = new byte[StackBytes];
            random.NextBytes(stack);
            ulong[] registers = new ulong[16];
            for (int r = 0; r < registers.Length; r++)
            {
                registers[r] = r == X86Core.RSP ? StackPointer : generator.NextValue();
            }

            ulong flags = generator.NextFlags();
            Prepare(interpreted, bitness, code, stack, registers, flags, translate: false);
            Prepare(translated, bitness, code, stack, registers, flags, translate: true);
            var expectedExit = RunToHalt(interpreted);
            var actualExit = RunToHalt(translated);

            string context = $"seed {seed} case {n} ({bitness}-bit): {Disassemble(code, bitness)}";
            Assert.True(expectedExit == actualExit, $"exit {actualExit}, interpreter {expectedExit}; {context}");
            var expected = interpreted.Core(0);
            var actual = translated.Core(0);
            for (int r = 0; r < 16; r++)
            {
                Assert.True(expected.Gpr[r] == actual.Gpr[r], $"GPR {r}: 0x{actual.Gpr[r]:X}, interpreter 0x{expected.Gpr[r]:X}; {context}");
            }

            Assert.True(expected.Flags == actual.Flags, $"RFLAGS 0x{actual.Flags:X}, interpreter 0x{expected.Flags:X}; {context}");
            Assert.True(expected.Rip == actual.Rip, $"RIP 0x{actual.Rip:X}, interpreter 0x{expected.Rip:X}; {context}");
            Assert.True(expected.InstructionsRetired == actual.InstructionsRetired, $"retired {actual.InstructionsRetired}, interpreter {expected.InstructionsRetired}; {context}");
            Assert.True(
                interpreted.Memory.GetSpan(StackArea, (int)StackBytes + 8).SequenceEqual(translated.Memory.GetSpan(StackArea, (int)StackBytes + 8)),
                $"stack/data area differs; {context}");
        }

        Assert.True(translated.Core(0).BlocksTranslated > cases, $"only {translated.Core(0).BlocksTranslated} blocks translated in {cases} cases");
        Assert.Equal(0, interpreted.Core(0).BlocksTranslated);
        return translated.Core(0).BlocksTranslated;
    }

    private static void Prepare(EmulatorVm vm, int bitness, byte[] code, byte[] stack, ulong[] registers, ulong flags, bool translate)
    {
        var core = vm.Core(0);
        core.SetFlatMode(bitness);
        core.TranslationEnabled = translate;
        core.TranslationThreshold = 1;
        core.CompileInBackground = false;
        core.ExtensionThreshold = 1;
        vm.Memory.Write(CodeAddress, code);
        vm.Memory.Write(StackArea, stack);
        vm.Memory.Write(LoopCounterAddress, (ulong)LoopPasses);
        Array.Copy(registers, core.Gpr, registers.Length);
        core.Flags = flags;
        core.Rip = CodeAddress;
    }

    private static VcpuExitReason RunToHalt(EmulatorVm vm)
    {
        var core = vm.Core(0);
        var exit = EmulatorHarness.RunWithin(core);
        return exit.Reason;
    }

    /// <summary>
    /// <c>top: body; dec dword [counter]; jnz top; hlt</c> (64-bit: R11 counts instead, so the loop can be one
    /// translated block that branches to its own entry). The body mixes the ALU generator's instructions with the
    /// other shapes blocks translate.
    /// </summary>
    private static byte[] BuildCase(AluSequenceGenerator generator, Random random, int bitness)
    {
        var bytes = new List<byte>();
        var writer = new ByteWriter(bytes);
        var encoder = Encoder.Create(bitness, writer);
        ulong Here() => CodeAddress + (ulong)bytes.Count;
        void Emit(in Instruction instruction) => encoder.Encode(instruction, Here());

        if (bitness == 64)
        {
            Emit(Instruction.Create(Code.Mov_r64_imm64, Register.R11, (ulong)LoopPasses));
        }

        ulong top = Here();
        for (int i = 0; i < InstructionsPerCase; i++)
        {
            if (random.Next(100) < 45)
            {
                Emit(generator.Next());
                continue;
            }

            EmitShape(random.Next(16), generator, random, bitness, Emit, Here);
        }

        if (bitness == 64)
        {
            Emit(Instruction.Create(Code.Dec_rm64, Register.R11));
        }
        else
        {
            Emit(Instruction.Create(Code.Dec_rm32, new MemoryOperand(Register.None, (long)LoopCounterAddress, 4)));
        }

        Emit(Instruction.CreateBranch(bitness == 64 ? Code.Jne_rel32_64 : Code.Jne_rel32_32, top));
        Emit(Instruction.Create(Code.Hlt));
        return [.. bytes];
    }

    private static void EmitShape(int shape, AluSequenceGenerator generator, Random random, int bitness, EmitAction emit, Func<ulong> here)
    {
        int size = generator.NextSize();
        int bits = size * 8;
        var a = generator.NextRegister(size);
        var b = generator.NextRegister(size);
        var stackPointer = bitness == 64 ? Register.RSP : Register.ESP;
        var slot = new MemoryOperand(stackPointer, random.Next(0, 0x1F0 / 8) * 8 - 0x100, 1);
        switch (shape)
        {
            case 0:
                emit(Instruction.Create(CodeOf($"Mov_r{bits}_rm{bits}"), a, b));
                break;
            case 1:
                emit(size == 8
                    ? Instruction.Create(Code.Mov_r64_imm64, a, generator.NextValue())
                    : Instruction.Create(CodeOf($"Mov_r{bits}_imm{bits}"), a, (uint)generator.NextValue() & (uint)((1UL << bits) - 1)));
                break;
            case 2:
                emit(Instruction.Create(CodeOf($"Mov_r{bits}_rm{bits}"), a, slot));
                break;
            case 3:
                emit(Instruction.Create(CodeOf($"Mov_rm{bits}_r{bits}"), slot, a));
                break;
            case 4:
                emit(size == 8
                    ? Instruction.Create(Code.Mov_rm64_imm32, slot, (int)generator.NextValue())
                    : Instruction.Create(CodeOf($"Mov_rm{bits}_imm{bits}"), slot, (uint)generator.NextValue() & (uint)((1UL << bits) - 1)));
                break;
            case 5:
            {
                // PUSH then POP: a register (or an immediate) moves through the stack.
                var wide = bitness == 64 ? generator.NextRegister(8) : generator.NextRegister(4);
                if (random.Next(2) == 0)
                {
                    emit(Instruction.Create(bitness == 64 ? Code.Push_r64 : Code.Push_r32, wide));
                }
                else
                {
                    emit(Instruction.Create(bitness == 64 ? Code.Pushq_imm32 : Code.Pushd_imm32, (int)generator.NextValue()));
                }

                emit(Instruction.Create(bitness == 64 ? Code.Pop_r64 : Code.Pop_r32, bitness == 64 ? generator.NextRegister(8) : generator.NextRegister(4)));
                break;
            }

            case 6:
            {
                // CALL to the next instruction, then POP the return address it pushed.
                const int CallLength = 5;
                emit(Instruction.CreateBranch(bitness == 64 ? Code.Call_rel32_64 : Code.Call_rel32_32, here() + CallLength));
                emit(Instruction.Create(bitness == 64 ? Code.Pop_r64 : Code.Pop_r32, bitness == 64 ? generator.NextRegister(8) : generator.NextRegister(4)));
                break;
            }

            case 7:
            {
                // PUSH the address after RET, then RET to it (an indirect transfer).
                const int PushAndRetLength = 6;
                emit(Instruction.Create(bitness == 64 ? Code.Pushq_imm32 : Code.Pushd_imm32, (int)(here() + PushAndRetLength)));
                emit(Instruction.Create(bitness == 64 ? Code.Retnq : Code.Retnd));
                break;
            }

            case 8:
            case 9:
                // [CMP a, b;] Jcc over one INC: the block's flags (often lazy) decide whether the INC runs.
                if (random.Next(2) == 0)
                {
                    emit(Instruction.Create(CodeOf($"Cmp_rm{bits}_r{bits}"), a, b));
                }

                EmitJccOverIncrement(generator, random, bitness, emit, here);
                break;

            case 10:
            {
                // LOOP/LOOPE/LOOPNE/JECXZ over one INC (ECX/RCX is one of the random registers).
                var skipped = SkippedInstruction(generator, bitness, out int skippedLength);
                string[] forms = bitness == 64
                    ? ["Loop_rel8_64_RCX", "Loope_rel8_64_RCX", "Loopne_rel8_64_RCX", "Jrcxz_rel8_64"]
                    : ["Loop_rel8_32_ECX", "Loope_rel8_32_ECX", "Loopne_rel8_32_ECX", "Jecxz_rel8_32"];
                const int ShortBranchLength = 2;
                emit(Instruction.CreateBranch(CodeOf(forms[random.Next(forms.Length)]), here() + ShortBranchLength + (ulong)skippedLength));
                emit(skipped);
                break;
            }

            case 11:
            {
                // Memory-operand forms: ALU and MOVZX/MOVSX loads (translated), a shift of memory and LOCK forms (the
                // block calls the interpreter for them).
                int choice = random.Next(6);
                var form = choice switch
                {
                    0 or 1 => MemoryAlu(generator, random, size, a, slot),
                    2 => Instruction.Create(CodeOf($"Shl_rm{bits}_imm8"), slot, random.Next(1, bits)),
                    3 => ExtendingLoad(generator, random, bitness, slot),
                    4 => Instruction.Create(CodeOf($"Add_rm{bits}_r{bits}"), slot, a),
                    _ => Instruction.Create(CodeOf($"Xadd_rm{bits}_r{bits}"), slot, a),
                };
                form.HasLockPrefix = choice >= 4;
                emit(form);
                break;
            }

            case 12:
            {
                // MOV reg, next; JMP reg: an indirect jump the block hands to the interpreter and leaves through.
                var target = bitness == 64 ? generator.NextRegister(8) : generator.NextRegister(4);
                var jump = Instruction.Create(bitness == 64 ? Code.Jmp_rm64 : Code.Jmp_rm32, target);
                var scratch = new List<byte>();
                uint jumpLength = Encoder.Create(bitness, new ByteWriter(scratch)).Encode(jump, 0);
                ulong movLength = bitness == 64 ? 10UL : 5UL;
                ulong after = here() + movLength + jumpLength;
                emit(bitness == 64 ? Instruction.Create(Code.Mov_r64_imm64, target, after) : Instruction.Create(Code.Mov_r32_imm32, target, (uint)after));
                emit(jump);
                break;
            }

            case 13:
                // A translated flag producer and, right after it, an instruction that reads its flags.
                emit(FlagProducer(generator, random, size, a, b, slot));
                EmitFlagConsumer(generator, random, bitness, slot, emit, here);
                break;

            case 14:
                emit(EffectiveAddress(generator, random, bitness, size));
                break;

            default:
            {
                // INC/DEC of a register or of memory (the 32-bit loop's own DEC of its counter in memory is the lazy producer of its JNZ).
                var code = CodeOf($"{(random.Next(2) == 0 ? "Inc" : "Dec")}_rm{bits}");
                emit(random.Next(2) == 0 ? Instruction.Create(code, a) : Instruction.Create(code, slot));
                break;
            }
        }
    }

    /// <summary>
    /// LEA of base + index * scale + displacement (one of the registers left out at random) into a 16/32/64-bit register;
    /// in 64-bit mode also with 32-bit addressing (an address-size override) and RIP-relative.
    /// </summary>
    private static Instruction EffectiveAddress(AluSequenceGenerator generator, Random random, int bitness, int size)
    {
        var target = generator.NextRegister(size == 1 ? 2 : size);
        int addressSize = bitness == 64 && random.Next(3) != 0 ? 8 : 4;
        long displacement = random.Next(4) == 0 ? 0 : random.Next(int.MinValue, int.MaxValue);
        if (bitness == 64 && random.Next(6) == 0)
        {
            return Instruction.Create(CodeOf($"Lea_r{target.GetSize() * 8}_m"), target, new MemoryOperand(Register.RIP, Register.None, 1, (long)CodeAddress + displacement % 0x10000, 8));
        }

        var index = random.Next(3) == 0 ? Register.None : generator.NextRegister(addressSize);
        if (index is Register.ESP or Register.RSP)
        {
            index = Register.None;
        }

        var baseRegister = random.Next(4) == 0 && index != Register.None ? Register.None : generator.NextRegister(addressSize);

        int scale = 1 << random.Next(4);
        // Iced's displacement size is the address size for a 32-bit displacement (sign-extended in 64-bit addressing).
        return Instruction.Create(CodeOf($"Lea_r{target.GetSize() * 8}_m"), target, new MemoryOperand(baseRegister, index, scale, displacement, addressSize));
    }

    /// <summary>An ALU op (ADC/SBB/CMP/TEST included) with <paramref name="slot"/> as its source or its destination.</summary>
    private static Instruction MemoryAlu(AluSequenceGenerator generator, Random random, int size, Register register, MemoryOperand slot)
    {
        int bits = size * 8;
        string op = AluOps[random.Next(AluOps.Length)];
        switch (random.Next(3))
        {
            case 0 when op != "Test":
                return Instruction.Create(CodeOf($"{op}_r{bits}_rm{bits}"), register, slot);
            case 0:
            case 1:
                return Instruction.Create(CodeOf($"{op}_rm{bits}_r{bits}"), slot, register);
            default:
                if (size > 1 && op != "Test" && random.Next(2) == 0)
                {
                    return Instruction.Create(CodeOf($"{op}_rm{bits}_imm8"), slot, (int)(sbyte)random.Next(256));
                }

                int immediate = size switch { 1 => random.Next(256), 2 => random.Next(65536), _ => (int)generator.NextValue() };
                return Instruction.Create(CodeOf($"{op}_rm{bits}_imm{Math.Min(bits, 32)}"), slot, immediate);
        }
    }

    /// <summary>One of the translated flag producers: an ALU op or INC/DEC on memory, a shift or rotate of a register (by 1, an immediate, or CL), IMUL, NEG.</summary>
    private static Instruction FlagProducer(AluSequenceGenerator generator, Random random, int size, Register a, Register b, MemoryOperand slot)
    {
        int bits = size * 8;
        string shift = ShiftOps[random.Next(ShiftOps.Length)];
        return random.Next(7) switch
        {
            0 => MemoryAlu(generator, random, size, a, slot),
            5 => Instruction.Create(CodeOf($"{(random.Next(2) == 0 ? "Inc" : "Dec")}_rm{bits}"), slot),
            6 => Instruction.Create(CodeOf($"Neg_rm{bits}"), a),
            1 => Instruction.Create(CodeOf($"{shift}_rm{bits}_imm8"), a, random.Next(size == 8 ? 64 : 32)),
            2 => Instruction.Create(CodeOf($"{shift}_rm{bits}_1"), a, 1),
            3 => Instruction.Create(CodeOf($"{shift}_rm{bits}_CL"), a, Register.CL),
            _ when size == 1 => Instruction.Create(CodeOf($"{shift}_rm8_1"), a, 1),
            _ => Multiply(generator, random, bits, a, b, slot),
        };
    }

    /// <summary>Two- or three-operand IMUL into <paramref name="a"/> from <paramref name="b"/> or from memory.</summary>
    private static Instruction Multiply(AluSequenceGenerator generator, Random random, int bits, Register a, Register b, MemoryOperand slot)
    {
        bool fromMemory = random.Next(2) == 0;
        switch (random.Next(3))
        {
            case 0:
            {
                var code = CodeOf($"Imul_r{bits}_rm{bits}");
                return fromMemory ? Instruction.Create(code, a, slot) : Instruction.Create(code, a, b);
            }

            case 1:
            {
                var code = CodeOf($"Imul_r{bits}_rm{bits}_imm8");
                int immediate = (sbyte)random.Next(256);
                return fromMemory ? Instruction.Create(code, a, slot, immediate) : Instruction.Create(code, a, b, immediate);
            }

            default:
            {
                var code = CodeOf($"Imul_r{bits}_rm{bits}_imm{Math.Min(bits, 32)}");
                int immediate = bits == 16 ? (short)random.Next(65536) : (int)generator.NextValue();
                return fromMemory ? Instruction.Create(code, a, slot, immediate) : Instruction.Create(code, a, b, immediate);
            }
        }
    }

    /// <summary>An instruction that reads the flags: Jcc over an INC, SETcc, ADC/SBB of registers, or CMOVcc from a register or memory.</summary>
    private static void EmitFlagConsumer(AluSequenceGenerator generator, Random random, int bitness, MemoryOperand slot, EmitAction emit, Func<ulong> here)
    {
        string cc = Conditions[random.Next(Conditions.Length)];
        int size = generator.NextSize();
        int bits = size * 8;
        var target = generator.NextRegister(size);
        switch (random.Next(4))
        {
            case 0:
                EmitJccOverIncrement(generator, random, bitness, emit, here);
                break;
            case 1:
                emit(Instruction.Create(CodeOf($"Set{cc}_rm8"), generator.NextRegister(1)));
                break;
            case 2:
                emit(Instruction.Create(CodeOf($"{(random.Next(2) == 0 ? "Adc" : "Sbb")}_rm{bits}_r{bits}"), target, generator.NextRegister(size)));
                break;
            default:
            {
                int wide = Math.Max(bits, 16);
                var destination = generator.NextRegister(wide / 8);
                emit(random.Next(2) == 0
                    ? Instruction.Create(CodeOf($"Cmov{cc}_r{wide}_rm{wide}"), destination, generator.NextRegister(wide / 8))
                    : Instruction.Create(CodeOf($"Cmov{cc}_r{wide}_rm{wide}"), destination, slot));
                break;
            }
        }
    }

    /// <summary>Jcc over one INC: the block's flags (often lazy) decide whether the INC runs.</summary>
    private static void EmitJccOverIncrement(AluSequenceGenerator generator, Random random, int bitness, EmitAction emit, Func<ulong> here)
    {
        var skipped = SkippedInstruction(generator, bitness, out int skippedLength);
        string cc = Conditions[random.Next(Conditions.Length)];
        const int JccLength = 6;
        emit(Instruction.CreateBranch(CodeOf($"J{cc}_rel32_{bitness}"), here() + JccLength + (ulong)skippedLength));
        emit(skipped);
    }

    /// <summary>MOVZX/MOVSX of a byte or word from memory into a wider register, or MOVSXD of a dword into a 64-bit one.</summary>
    private static Instruction ExtendingLoad(AluSequenceGenerator generator, Random random, int bitness, MemoryOperand slot)
    {
        if (bitness == 64 && random.Next(4) == 0)
        {
            return Instruction.Create(Code.Movsxd_r64_rm32, generator.NextRegister(8), slot);
        }

        int source = random.Next(2) == 0 ? 8 : 16;
        int target = source == 8 ? (random.Next(3) switch { 0 => 16, 1 => 32, _ => bitness == 64 ? 64 : 32 }) : (bitness == 64 && random.Next(2) == 0 ? 64 : 32);
        string kind = random.Next(2) == 0 ? "Movzx" : "Movsx";
        return Instruction.Create(CodeOf($"{kind}_r{target}_rm{source}"), generator.NextRegister(target / 8), slot);
    }

    private static readonly string[] AluOps = ["Add", "Or", "Adc", "Sbb", "And", "Sub", "Xor", "Cmp", "Test"];

    private static readonly string[] ShiftOps = ["Shl", "Shr", "Sar", "Rol", "Ror"];

    private static readonly string[] Conditions = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];

    /// <summary>INC of a full-width register (FF /0 with REX.W in 64-bit mode: a fixed length to branch over).</summary>
    private static Instruction SkippedInstruction(AluSequenceGenerator generator, int bitness, out int length)
    {
        length = bitness == 64 ? 3 : 2;
        return bitness == 64
            ? Instruction.Create(Code.Inc_rm64, generator.NextRegister(8))
            : Instruction.Create(Code.Inc_rm32, generator.NextRegister(4));
    }

    private delegate void EmitAction(in Instruction instruction);

    private static Code CodeOf(string name) =>
        Enum.TryParse<Code>(name, out var code) ? code : throw new InvalidOperationException($"No Iced code named {name}");

    private static string Disassemble(byte[] code, int bitness)
    {
        var decoder = Decoder.Create(bitness, code, CodeAddress);
        var parts = new List<string>();
        while (decoder.IP < CodeAddress + (ulong)code.Length)
        {
            decoder.Decode(out var instruction);
            parts.Add(instruction.ToString());
        }

        return string.Join("; ", parts);
    }

    private sealed class ByteWriter(List<byte> bytes) : CodeWriter
    {
        public override void WriteByte(byte value) => bytes.Add(value);
    }
}
