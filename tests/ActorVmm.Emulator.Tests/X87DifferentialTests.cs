using System.Text;
using ActorVmm.Emulator.Cpu;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Random x87 sequences (loads and stores of every format, constants, the four operations in all forms, FSQRT, FRNDINT,
/// FSCALE, FXTRACT, compares, FXAM, FCMOVcc, FXCH) under a random FCW rounding and precision control, on the
/// emulator and on Unicorn in 64-bit mode one instruction at a time; GPRs, the status flags, FSW, every register in use
/// and the data area are compared after each step, and each case ends with FNSAVE so the whole register stack and the tag word are compared.
/// Where Unicorn (QEMU 5) is not a faithful x87 the test stays away: sequences keep the stack between empty and full (QEMU 5
/// does not signal stack faults; unit tests cover them), end a case before loading an unsupported 80-bit encoding, use no signalling NaNs in memory (QEMU 5 neither quiets them on FLD m32/m64 nor on FST), keep every exception masked,
/// generate no FPREM/FPREM1 (QEMU 5 computes them in host doubles; unit tests cover them), end a case before FXTRACT of a NaN, infinity or denormal (QEMU 5 splits the raw exponent field) and before an integer
/// store out of range (QEMU 5 saturates instead of storing the integer indefinite), run FSCALE only at 64-bit precision (QEMU applies precision control to it), load the irrational constants only when
/// rounding to nearest (QEMU 5 ignores FCW.RC for them, the x87 rounds them by it; unit tests cover that), FSW's exception flags are not compared
/// and C1 (round-up) are not compared (QEMU 5 does not fold softfloat's exceptions into FSW nor report round-up; unit tests
/// cover them; TOP, C0, C2 and C3 are compared), and FNSAVE's FIP/FDP/FOP words are not
/// compared (QEMU 5 does not track FDP and FOP).
/// </summary>
public sealed class X87DifferentialTests(ITestOutputHelper output)
{
    private const int FixedSeed = 20_261_131;
    private const int FixedCases = 1200;
    private const ulong Float64QuietBit = 1UL << 51;
    private const uint Float32QuietBit = 1U << 22;
    private const int RandomCases = 300;
    private const int InstructionsPerCase = 10;
    private const ulong CodeBase = 0x1_0000;
    private const ulong CodeSlot = 0x100;
    private const ulong StackPointer = 0x7000;
    private const ulong DataAddress = SseDifferentialTests.DataAddress;
    private const int DataSize = SseDifferentialTests.DataSize;
    private const int SaveOffset = 0x80;
    private const int SaveSize = 108;
    private const int SavePointerFirst = SaveOffset + 12;
    private const int SavePointerLast = SaveOffset + 27;
    private const int SaveStatusWord = 4;
    private const int SaveTagWord = 8;
    private const int SaveRegisters = 28;
    private const int SaveStatusFlags = SaveOffset + SaveStatusWord;
    private const int X87RegisterBytes = 10;
    private const int TagEmpty = 3;
    private const ushort X87Top = X86Core.FswTopMask;
    private const int ControlWordOffset = 0xF0;
    private const int ExtendedSlots = 4;
    private const int DoubleSlotFirst = 4;
    private const int SingleSlotFirst = 6;
    private const ushort AllMasked = 0x3F;
    private const int ExtendedPrecision = 3;
    private const int RoundToNearest = 0;
    private const int PrecisionShift = 8;
    private const int RoundingShift = 10;
    private const ushort ExtendedBias = 16383;
    private const ulong IntegerBit = 1UL << 63;
    private const ulong StatusFlags = 0x8D5;

    /// <summary>FSW's exception flags, SF and ES (bits 7:0): QEMU 5 does not fold softfloat's exceptions into FSW; C1: QEMU 5 does not report round-up in it.</summary>
    private const ushort FswUncompared = 0xFF | X86Core.FswC1;

    /// <summary>C0, C2, C3: defined only by the compares, FXAM and FPREM/FPREM1 (and kept by FNINIT's clear, FNSAVE's init).</summary>
    private const ushort UndefinedConditionCodes = X86Core.FswC0 | X86Core.FswC2 | X86Core.FswC3;

    private static readonly Mnemonic[] DefineConditionCodes =
    [
        Mnemonic.Fcom, Mnemonic.Fcomp, Mnemonic.Fcompp, Mnemonic.Fucom, Mnemonic.Fucomp, Mnemonic.Fucompp, Mnemonic.Ficom,
        Mnemonic.Ficomp, Mnemonic.Ftst, Mnemonic.Fxam, Mnemonic.Fprem, Mnemonic.Fprem1, Mnemonic.Fninit, Mnemonic.Fnsave,
    ];

    [Fact]
    public void The_unicorn_fpsw_and_fp0_register_ids_are_right()
    {
        Assert.True(Unicorn.IsAvailable(out string error), error);
        using var reference = new ReferenceCpu(64);
        var asm = new Assembler(64);
        asm.fninit();
        asm.fld1();
        asm.fldz();
        asm.fnstsw(ax);
        byte[] code = SseDifferentialTests.Assemble(asm, CodeBase);
        reference.WriteCode(CodeBase, code);
        reference.Rip = CodeBase;

        reference.Step(CodeBase + (ulong)code.Length);

        Assert.Equal((ushort)reference.ReadGpr(X86Core.RAX), reference.Fsw);
        Assert.Equal(6, (reference.Fsw & X86Core.FswTopMask) >> X86Core.FswTopShift);
        Assert.Equal((ExtendedBias, IntegerBit), reference.ReadX87(7));
        Assert.Equal(((ushort)0, 0UL), reference.ReadX87(6));
    }

    [Fact]
    public void Random_x87_sequences_match_unicorn()
    {
        Assert.True(Unicorn.IsAvailable(out string error), error);
        int randomSeed = Random.Shared.Next();
        int endedEarly = RunCampaign(FixedSeed, FixedCases) + RunCampaign(randomSeed, RandomCases);
        output.WriteLine($"fixed seed {FixedSeed} ({FixedCases} cases), random seed {randomSeed} ({RandomCases} cases); {endedEarly} ended early where QEMU 5 diverges");
    }

    private static int RunCampaign(int seed, int cases)
    {
        int endedEarly = 0;
        using var reference = new ReferenceCpu(64);
        using var vm = new EmulatorVm(new VmSpec("x87-diff", ReferenceCpu.MemorySize));
        var core = vm.Core(0);
        var random = new Random(seed);
        for (int n = 0; n < cases; n++)
        {
            ulong codeAddress = CodeBase + ((ulong)n * CodeSlot);
            Assert.True(codeAddress + CodeSlot <= ReferenceCpu.MemorySize, "more cases than code slots");
            int precision = random.Next(4) == 0 ? (random.Next(2) == 0 ? 0 : 2) : ExtendedPrecision;
            int rounding = random.Next(4);
            ushort controlWord = (ushort)(AllMasked | 0x40 | (precision << PrecisionShift) | (rounding << RoundingShift));
            var asm = new Assembler(64);
            var names = new List<string> { "fninit", "fldcw" };
            asm.fninit();
            asm.fldcw(__word_ptr[rbx + ControlWordOffset]);
            int depth = 0;
            for (int i = 2; i < InstructionsPerCase; i++)
            {
                names.Add(Emit(asm, random, ref depth, precision == ExtendedPrecision, rounding == RoundToNearest));
            }

            asm.fnsave(__[rbx + SaveOffset]);
            names.Add("fnsave");
            byte[] code = SseDifferentialTests.Assemble(asm, codeAddress);
            Assert.True((ulong)code.Length <= CodeSlot, "a case's code is larger than its slot");
            vm.Memory.Write(codeAddress, code);
            reference.WriteCode(codeAddress, code);
            core.SetFlatMode(64);
            core.Cr0 |= X86Core.Cr0NE;
            core.Rip = codeAddress;
            reference.Rip = codeAddress;
            reference.Flags = core.Flags;
            for (int r = 0; r < reference.GprCount; r++)
            {
                ulong value = r == X86Core.RSP ? StackPointer : r == X86Core.RBX ? DataAddress : (ulong)random.NextInt64();
                core.Gpr[r] = value;
                reference.WriteGpr(r, value);
            }

            byte[] data = NewData(random, controlWord);
            vm.Memory.Write(DataAddress, data);
            reference.WriteMemory(DataAddress, data);

            var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code));
            decoder.IP = codeAddress;
            for (int i = 0; i < names.Count; i++)
            {
                decoder.Decode(out var instruction);
                if (QemuDiverges(core, vm, instruction))
                {
                    endedEarly++;
                    break;
                }

                core.StepForTest();
                reference.Step(instruction.NextIP);
                if (Array.IndexOf(DefineConditionCodes, instruction.Mnemonic) < 0)
                {
                    // C0, C2 and C3 are undefined after this instruction: take Unicorn's so they cannot spread.
                    core.Fsw = (ushort)((core.Fsw & ~UndefinedConditionCodes) | (reference.Fsw & UndefinedConditionCodes));
                }

                string? mismatch = Compare(core, vm, reference);
                if (mismatch is not null)
                {
                    Assert.Fail($"seed {seed} case {n} instruction {i} '{instruction}' fcw 0x{controlWord:X}: {mismatch}\nsequence: {Disassemble(code, codeAddress)}\ndata: {Convert.ToHexString(data, 0, SaveOffset)}");
                }
            }
        }

        return endedEarly;
    }

    /// <summary>
    /// True where QEMU 5's x87 is known to differ from the hardware, so the case ends before it: FLD m80 of an unsupported
    /// encoding (QEMU 5 computes with unnormals where the x87 raises IE); FXTRACT of anything but a
    /// normal number or zero (QEMU splits the raw exponent field of NaNs, infinities and denormals); FIST/FISTP/FISTTP of
    /// a value near or beyond the integer's range, NaN or infinity (QEMU 5 saturates instead of storing the indefinite);
    /// FSCALE by a NaN or infinity (QEMU 5 converts the scale to an integer first); FLD m32/m64 of a signaling NaN (QEMU 5
    /// pushes it as it is, where the x87 raises IE and, masked, pushes it quieted: SDM vol. 1, 4.8.3.4 and FLD's #IA).
    /// </summary>
    private static bool QemuDiverges(X86Core core, EmulatorVm vm, in Instruction instruction)
    {
        if (instruction.Mnemonic == Mnemonic.Fld && instruction.MemorySize is MemorySize.Float64 or MemorySize.Float32)
        {
            ulong source = core.Gpr[X86Core.RBX] + instruction.MemoryDisplacement64;
            if (instruction.MemorySize == MemorySize.Float64)
            {
                ulong bits = vm.Memory.Read<ulong>(source);
                return double.IsNaN(BitConverter.UInt64BitsToDouble(bits)) && (bits & Float64QuietBit) == 0;
            }

            uint single = vm.Memory.Read<uint>(source);
            return float.IsNaN(BitConverter.UInt32BitsToSingle(single)) && (single & Float32QuietBit) == 0;
        }

        if (instruction.Mnemonic == Mnemonic.Fld && instruction.MemorySize == MemorySize.Float80)
        {
            // An earlier integer or m64 store into an 80-bit slot can leave an unnormal there.
            ulong address = core.Gpr[X86Core.RBX] + instruction.MemoryDisplacement64;
            ulong loaded = vm.Memory.Read<ulong>(address);
            ushort loadedExponent = (ushort)(vm.Memory.Read<ushort>(address + 8) & 0x7FFF);
            return loadedExponent != 0 && (loaded & IntegerBit) == 0;
        }

        int top = (core.Fsw & X86Core.FswTopMask) >> X86Core.FswTopShift;
        var (signExponent, significand) = core.X87Register(top);
        int exponent = signExponent & 0x7FFF;
        return instruction.Mnemonic switch
        {
            Mnemonic.Fxtract => exponent == 0x7FFF || (exponent == 0 && significand != 0),
            Mnemonic.Fscale => (core.X87Register((top + 1) & 7).SignExponent & 0x7FFF) == 0x7FFF,

            // QEMU 5 saturates where the x87 stores the integer indefinite: stay well inside the range.
            Mnemonic.Fist or Mnemonic.Fistp or Mnemonic.Fisttp => exponent >= ExtendedBias + (8 * instruction.MemorySize.GetSize()) - 2,
            _ => false,
        };
    }

    private static string Disassemble(byte[] code, ulong address)
    {
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code));
        decoder.IP = address;
        var lines = new List<string>();
        while (decoder.IP < address + (ulong)code.Length)
        {
            decoder.Decode(out var instruction);
            lines.Add(instruction.ToString());
        }

        return string.Join("; ", lines);
    }

    private static byte[] NewData(Random random, ushort controlWord)
    {
        byte[] data = new byte[DataSize];
        for (int slot = 0; slot < SaveOffset / 16; slot++)
        {
            var span = data.AsSpan(16 * slot);
            if (slot < ExtendedSlots)
            {
                var (exponent, significand) = Extended(random);
                BitConverter.TryWriteBytes(span, significand);
                BitConverter.TryWriteBytes(span[8..], exponent);
            }
            else if (slot < SingleSlotFirst)
            {
                BitConverter.TryWriteBytes(span, QuietDouble(random));
                BitConverter.TryWriteBytes(span[8..], QuietDouble(random));
            }
            else
            {
                for (int k = 0; k < 4; k++)
                {
                    BitConverter.TryWriteBytes(span[(4 * k)..], QuietSingle(random));
                }
            }
        }

        BitConverter.TryWriteBytes(data.AsSpan(ControlWordOffset), controlWord);
        return data;
    }

    /// <summary>A binary64 pattern that is not a signalling NaN: QEMU 5's FLD m64 does not quiet one (unit tests cover it).</summary>
    private static ulong QuietDouble(Random random)
    {
        ulong value;
        do
        {
            value = FloatPatterns.Double(random);
        }
        while (FloatPatterns.IsDoubleSignallingNaN(value));
        return value;
    }

    private static uint QuietSingle(Random random)
    {
        uint value;
        do
        {
            value = FloatPatterns.Single(random);
        }
        while (FloatPatterns.IsSingleSignallingNaN(value));
        return value;
    }

    /// <summary>
    /// An 80-bit value: ordinary numbers near 1, zeros, infinities, quiet NaNs, denormals, the extremes, integers. No
    /// signalling NaNs: QEMU 5 stores an 80-bit SNaN to m32/m64 without quieting it (unit tests cover SNaNs).
    /// </summary>
    private static (ushort Exponent, ulong Significand) Extended(Random random)
    {
        ushort sign = random.Next(2) == 0 ? (ushort)0 : (ushort)0x8000;
        ulong significand = IntegerBit | (ulong)random.NextInt64();
        (ushort exponent, ulong bits) = random.Next(12) switch
        {
            0 => ((ushort)0, 0UL),
            1 => ((ushort)0x7FFF, IntegerBit),
            2 => ((ushort)0x7FFF, IntegerBit | (1UL << 62) | (significand >> 3)),
            4 => ((ushort)0, significand >> random.Next(1, 63)),
            5 => ((ushort)0x7FFE, significand),
            6 => ((ushort)1, significand),
            7 => ((ushort)(ExtendedBias + random.Next(0, 63)), significand & ~((1UL << random.Next(0, 63)) - 1)),
            _ => ((ushort)(ExtendedBias + random.Next(-20, 21)), significand),
        };
        return ((ushort)(exponent | sign), bits);
    }

    private static string Emit(Assembler asm, Random random, ref int depth, bool extendedPrecision, bool roundToNearest)
    {
        int extendedSlot = random.Next(ExtendedSlots);
        var m80 = __tword_ptr[rbx + (16 * extendedSlot)];
        var m64 = __qword_ptr[rbx + (16 * (DoubleSlotFirst + random.Next(2))) + (8 * random.Next(2))];
        var m32 = __dword_ptr[rbx + (16 * (SingleSlotFirst + random.Next(2))) + (4 * random.Next(4))];
        int anySlot = random.Next(SaveOffset / 16);
        var i16 = __word_ptr[rbx + (16 * anySlot)];
        var i32 = __dword_ptr[rbx + (16 * anySlot)];
        var i64 = __qword_ptr[rbx + (16 * anySlot)];
        var st = new[] { st0, st1, st2, st3, st4, st5, st6, st7 };
        var other = st[Math.Max(1, random.Next(Math.Max(depth, 1)))];

        // Loads while there is room; at least one operand before anything else.
        if (depth == 0 || (depth < 8 && random.Next(3) == 0))
        {
            depth++;
            switch (random.Next(12))
            {
                case 0: asm.fld(m80); return "fld m80";
                case 1: asm.fld(m64); return "fld m64";
                case 2: asm.fld(m32); return "fld m32";
                case 3: asm.fild(i16); return "fild m16";
                case 4: asm.fild(i32); return "fild m32";
                case 5: asm.fild(i64); return "fild m64";
                case 6: asm.fld1(); return "fld1";
                case 7 when roundToNearest: asm.fldpi(); return "fldpi";
                case 8 when roundToNearest: asm.fldl2e(); return "fldl2e";
                case 9 when roundToNearest: asm.fldln2(); return "fldln2";
                case 10 when depth > 1: asm.fld(st[random.Next(depth - 1)]); return "fld st(i)";
                default: asm.fld(m80); return "fld m80";
            }
        }

        if (depth >= 2 && random.Next(2) == 0)
        {
            switch (random.Next(24))
            {
                case 0: asm.fadd(st0, other); return "fadd st0,sti";
                case 1: asm.fadd(other, st0); return "fadd sti,st0";
                case 2: asm.faddp(other, st0); depth--; return "faddp";
                case 3: asm.fsub(st0, other); return "fsub st0,sti";
                case 4: asm.fsubp(other, st0); depth--; return "fsubp";
                case 5: asm.fsubr(other, st0); return "fsubr sti,st0";
                case 6: asm.fsubrp(other, st0); depth--; return "fsubrp";
                case 7: asm.fmul(st0, other); return "fmul st0,sti";
                case 8: asm.fmulp(other, st0); depth--; return "fmulp";
                case 9: asm.fdiv(st0, other); return "fdiv st0,sti";
                case 10: asm.fdivp(other, st0); depth--; return "fdivp";
                case 11: asm.fdivr(st0, other); return "fdivr st0,sti";
                case 12: asm.fdivrp(other, st0); depth--; return "fdivrp";
                case 13: asm.fxch(st0, other); return "fxch";
                case 14: asm.fcom(st0, other); return "fcom st(i)";
                case 15: asm.fucomp(st0, other); depth--; return "fucomp";
                case 16 when depth >= 2: asm.fcompp(); depth -= 2; return "fcompp";
                case 17: asm.fcomi(st0, other); return "fcomi";
                case 18: asm.fucomip(st0, other); depth--; return "fucomip";
                case 19: asm.fcmovb(st0, other); return "fcmovb";
                case 20: asm.fcmovne(st0, other); return "fcmovne";
                case 21 when extendedPrecision: asm.fscale(); return "fscale";
                case 22: asm.fcmovbe(st0, other); return "fcmovbe";
                default: asm.fucomi(st0, other); return "fucomi";
            }
        }

        switch (random.Next(26))
        {
            case 0: asm.fst(m64); return "fst m64";
            case 1: asm.fstp(m32); depth--; return "fstp m32";
            case 2: asm.fstp(m80); depth--; return "fstp m80";
            case 3: asm.fist(i32); return "fist m32";
            case 4: asm.fistp(i16); depth--; return "fistp m16";
            case 5: asm.fistp(i64); depth--; return "fistp m64";
            case 6: asm.fisttp(i32); depth--; return "fisttp m32";
            case 7: asm.fchs(); return "fchs";
            case 8: asm.fabs(); return "fabs";
            case 9: asm.fsqrt(); return "fsqrt";
            case 10: asm.frndint(); return "frndint";
            case 11: asm.fadd(m64); return "fadd m64";
            case 12: asm.fsub(m32); return "fsub m32";
            case 13: asm.fmul(m64); return "fmul m64";
            case 14: asm.fdivr(m32); return "fdivr m32";
            case 15: asm.fiadd(i32); return "fiadd m32";
            case 16: asm.fidiv(i16); return "fidiv m16";
            case 17: asm.ftst(); return "ftst";
            case 18: asm.fxam(); return "fxam";
            case 19: asm.fcom(m64); return "fcom m64";
            case 20: asm.ficomp(i32); depth--; return "ficomp m32";
            case 21 when depth < 8: asm.fxtract(); depth++; return "fxtract";
            case 22: asm.fst(st[random.Next(depth)]); return "fst st(i)";
            case 23: asm.fsubr(m64); return "fsubr m64";
            case 24: asm.fimul(i16); return "fimul m16";
            default: asm.fdiv(m64); return "fdiv m64";
        }
    }

    /// <summary>
    /// True for a byte of an FNSAVE register slot whose register the saved tag word marks empty: an empty register's
    /// contents are left over from earlier code (the emulator's harness resets them between cases, Unicorn does not).
    /// </summary>
    private static bool IsEmptyRegisterByte(byte[] data, int offset)
    {
        int registers = SaveOffset + SaveRegisters;
        if (offset < registers || offset >= SaveOffset + SaveSize)
        {
            return false;
        }

        int top = (BitConverter.ToUInt16(data, SaveOffset + SaveStatusWord) & X87Top) >> X86Core.FswTopShift;
        int tags = BitConverter.ToUInt16(data, SaveOffset + SaveTagWord);
        int physical = (top + ((offset - registers) / X87RegisterBytes)) & 7;
        return ((tags >> (2 * physical)) & 3) == TagEmpty;
    }

    private static string? Compare(X86Core core, EmulatorVm vm, ReferenceCpu reference)
    {
        var problems = new StringBuilder();
        for (int r = 0; r < reference.GprCount; r++)
        {
            if (core.Gpr[r] != reference.ReadGpr(r))
            {
                problems.Append($"r{r} emulator 0x{core.Gpr[r]:X} unicorn 0x{reference.ReadGpr(r):X}; ");
            }
        }

        if ((core.Flags & StatusFlags) != (reference.Flags & StatusFlags))
        {
            problems.Append($"flags emulator 0x{core.Flags & StatusFlags:X} unicorn 0x{reference.Flags & StatusFlags:X}; ");
        }

        if ((core.Fsw & ~FswUncompared) != (reference.Fsw & ~FswUncompared))
        {
            problems.Append($"fsw emulator 0x{core.Fsw:X4} unicorn 0x{reference.Fsw:X4}; ");
        }

        for (int physical = 0; physical < 8; physical++)
        {
            if ((core.Ftw & (1 << physical)) != 0 && core.X87Register(physical) != reference.ReadX87(physical))
            {
                var (ourExponent, ourSignificand) = core.X87Register(physical);
                var (theirExponent, theirSignificand) = reference.ReadX87(physical);
                problems.Append($"R{physical} emulator {ourExponent:X4}:{ourSignificand:X16} unicorn {theirExponent:X4}:{theirSignificand:X16}; ");
            }
        }

        byte[] ours = new byte[DataSize];
        vm.Memory.Read(DataAddress, ours);
        byte[] theirs = reference.ReadMemory(DataAddress, DataSize);
        foreach (byte[] area in new[] { ours, theirs })
        {
            // The saved FSW's C1, as in the live FSW.
            area[SaveStatusFlags + 1] &= unchecked((byte)~(X86Core.FswC1 >> 8));
        }

        for (int i = 0; i < DataSize; i++)
        {
            if (i is >= SavePointerFirst and <= SavePointerLast || i == SaveStatusFlags || IsEmptyRegisterByte(ours, i))
            {
                continue;
            }

            if (ours[i] != theirs[i])
            {
                problems.Append($"data differs from offset 0x{i:X} ({(i >= SaveOffset && i < SaveOffset + SaveSize ? "fnsave area" : "operands")}): emulator {Convert.ToHexString(ours, i & ~7, 16)} unicorn {Convert.ToHexString(theirs, i & ~7, 16)}; ");
                break;
            }
        }

        return problems.Length == 0 ? null : problems.ToString();
    }
}
