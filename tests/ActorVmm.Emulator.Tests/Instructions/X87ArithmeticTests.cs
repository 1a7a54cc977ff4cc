using ActorVmm.Emulator.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>x87 arithmetic in 80-bit extended precision: expected encodings worked out by hand from the formats.</summary>
public sealed class X87ArithmeticTests : IDisposable
{
    private const ushort ExtendedBias = 16383;
    private const ulong IntegerBit = 1UL << 63;
    private const ulong HalfBit = 1UL << 62;
    private const ushort InvalidFlag = 1 << 0;
    private const ushort DenormalFlag = 1 << 1;
    private const ushort ZeroDivideFlag = 1 << 2;
    private const ushort PrecisionFlag = 1 << 5;
    private const ushort ConditionCodes = X86Core.FswC0 | X86Core.FswC1 | X86Core.FswC2 | X86Core.FswC3;

    private readonly CoreFixture _cpu = new();

    public X87ArithmeticTests()
    {
        _cpu.Core.Gpr[X86Core.RBX] = CoreFixture.DataAddress;
        _cpu.Core.Cr0 |= X86Core.Cr0NE;
    }

    [Fact]
    public void Fxtract_splits_a_value_into_its_exponent_and_its_significand()
    {
        const short Value = -24576; // −1.5 × 2^14
        const ushort ExponentOfFourteen = ExtendedBias + 3; // 14 = 1.75 × 2^3
        const ulong FourteenSignificand = IntegerBit | HalfBit | (HalfBit >> 1);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, Value);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fild(__word_ptr[rbx]);
            a.fxtract();
        });

        _cpu.Step(3);

        Assert.Equal(((ushort)0x8000 | ExtendedBias, IntegerBit | HalfBit), St(0));
        Assert.Equal((ExponentOfFourteen, FourteenSignificand), St(1));
    }

    [Fact]
    public void Fld_m64_then_fstp_m80_widens_exactly()
    {
        const ulong OneAndAQuarterDouble = 0x3FF4_0000_0000_0000;
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, OneAndAQuarterDouble);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fld(__qword_ptr[rbx]);
            a.fstp(__tword_ptr[rbx + 16]);
        });

        _cpu.Step(3);

        Assert.Equal(IntegerBit | (HalfBit >> 1), _cpu.Vm.Memory.Read<ulong>(CoreFixture.DataAddress + 16));
        Assert.Equal(ExtendedBias, _cpu.Vm.Memory.Read<ushort>(CoreFixture.DataAddress + 24));
        Assert.Equal(0, (_cpu.Core.Fsw & X86Core.FswTopMask) >> X86Core.FswTopShift);
        Assert.Equal(0, _cpu.Core.Ftw);
    }

    [Fact]
    public void One_third_keeps_64_bits_at_extended_precision_and_24_with_precision_control_single()
    {
        const ulong ThirdSignificand = 0xAAAA_AAAA_AAAA_AAAB; // 1/3 = 0.AAAA…₁₆: 64 bits round up to …AB
        const ulong ThirdSingleSignificand = 0xAAAA_AB00_0000_0000; // 24 bits: 0xAAAAAA|AA… rounds up to 0xAAAAAB
        const ushort SinglePrecisionControl = X86Core.FcwInit & 0xFCFF;
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, SinglePrecisionControl);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fld1();
            a.fild(__word_ptr[rbx + 8]);
            a.fdivp(st1, st0);
            a.fldcw(__word_ptr[rbx]);
            a.fld1();
            a.fild(__word_ptr[rbx + 8]);
            a.fdivp(st1, st0);
        });
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress + 8, (short)3);

        _cpu.Step(4);
        Assert.Equal((ushort)(ExtendedBias - 2), St(0).SignExponent);
        Assert.Equal(ThirdSignificand, St(0).Significand);
        Assert.Equal(X86Core.FswC1, _cpu.Core.Fsw & X86Core.FswC1);

        _cpu.Step(4);
        Assert.Equal(ThirdSingleSignificand, St(0).Significand);
        Assert.Equal(PrecisionFlag, _cpu.Core.Fsw & PrecisionFlag);
    }

    [Fact]
    public void Fldpi_rounds_to_nearest_up_and_toward_zero_down()
    {
        const ulong PiNearest = 0xC90F_DAA2_2168_C235;
        const ulong PiTruncated = 0xC90F_DAA2_2168_C234;
        const ushort TowardZero = X86Core.FcwInit | (3 << 10);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, TowardZero);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fldpi();
            a.fldcw(__word_ptr[rbx]);
            a.fldpi();
        });

        _cpu.Step(2);
        Assert.Equal((ExtendedBias + 1, PiNearest), St(0));

        _cpu.Step(2);
        Assert.Equal((ExtendedBias + 1, PiTruncated), St(0));
    }

    [Fact]
    public void The_constants_match_the_documented_x87_values()
    {
        _cpu.Load(a =>
        {
            a.fninit();
            a.fldl2e();
            a.fldl2t();
            a.fldlg2();
            a.fldln2();
        });

        _cpu.Step(5);

        Assert.Equal((ExtendedBias - 1, 0xB172_17F7_D1CF_79ACUL), St(0));
        Assert.Equal((ExtendedBias - 2, 0x9A20_9A84_FBCF_F799UL), St(1));
        Assert.Equal((ExtendedBias + 1, 0xD49A_784B_CD1B_8AFEUL), St(2));
        Assert.Equal((ExtendedBias, 0xB8AA_3B29_5C17_F0BCUL), St(3));
    }

    [Fact]
    public void Popping_an_empty_stack_is_a_masked_stack_underflow_that_stores_the_indefinite()
    {
        const ushort IndefiniteExponent = 0xFFFF;
        const ulong IndefiniteSignificand = IntegerBit | HalfBit;
        _cpu.Load(a =>
        {
            a.fninit();
            a.fstp(__tword_ptr[rbx]);
        });

        _cpu.Step(2);

        Assert.Equal(IndefiniteSignificand, _cpu.Vm.Memory.Read<ulong>(CoreFixture.DataAddress));
        Assert.Equal(IndefiniteExponent, _cpu.Vm.Memory.Read<ushort>(CoreFixture.DataAddress + 8));
        Assert.Equal(InvalidFlag | X86Core.FswStackFault, _cpu.Core.Fsw & (InvalidFlag | X86Core.FswStackFault | X86Core.FswC1));
    }

    [Fact]
    public void A_ninth_push_is_a_stack_overflow_with_c1_set()
    {
        _cpu.Load(a =>
        {
            a.fninit();
            for (int i = 0; i < 9; i++)
            {
                a.fld1();
            }
        });

        _cpu.Step(10);

        Assert.Equal(InvalidFlag | X86Core.FswStackFault | X86Core.FswC1, _cpu.Core.Fsw & (InvalidFlag | X86Core.FswStackFault | X86Core.FswC1));
        Assert.Equal(((ushort)0xFFFF, IntegerBit | HalfBit), St(0));
    }

    [Fact]
    public void An_unmasked_zero_divide_sets_es_keeps_the_destination_and_the_next_x87_instruction_raises_mf()
    {
        const ushort ZeroDivideUnmasked = X86Core.FcwInit & ~ZeroDivideFlag;
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, ZeroDivideUnmasked);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fldcw(__word_ptr[rbx]);
            a.fld1();
            a.fldz();
            a.fdivp(st1, st0);
            a.fld1();
        });

        _cpu.Step(5);
        Assert.Equal(ZeroDivideFlag | X86Core.FswErrorSummary | X86Core.FswBusy, _cpu.Core.Fsw & (ZeroDivideFlag | X86Core.FswErrorSummary | X86Core.FswBusy));
        Assert.Equal((ExtendedBias, IntegerBit), St(1));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());
        Assert.Equal(ExceptionVector.MF, fault.Vector);
    }

    [Fact]
    public void Fist_rounds_by_fcw_and_an_out_of_range_value_stores_the_integer_indefinite()
    {
        const ushort IntegerIndefinite16 = 0x8000;
        const short TwoAndAHalfTimesTwo = 5;
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, TwoAndAHalfTimesTwo);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress + 8, 1 << 20);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fild(__word_ptr[rbx]);
            a.fld1();
            a.fadd(st0, st0);
            a.fdivp(st1, st0);
            a.fist(__word_ptr[rbx + 16]);
            a.fild(__dword_ptr[rbx + 8]);
            a.fistp(__word_ptr[rbx + 18]);
        });

        _cpu.Step(8);

        Assert.Equal((short)2, _cpu.Vm.Memory.Read<short>(CoreFixture.DataAddress + 16));
        Assert.Equal(IntegerIndefinite16, _cpu.Vm.Memory.Read<ushort>(CoreFixture.DataAddress + 18));
        Assert.Equal(InvalidFlag | PrecisionFlag, _cpu.Core.Fsw & (InvalidFlag | PrecisionFlag));
    }

    [Fact]
    public void Fcomi_sets_the_flags_and_fcom_the_condition_codes()
    {
        _cpu.Load(a =>
        {
            a.fninit();
            a.fld1();
            a.fldz();
            a.fcomi(st0, st1);
            a.fcom(st0, st1);
        });

        _cpu.Step(5);

        Assert.Equal(RFlags.CF, _cpu.Core.Flags & (RFlags.ZF | RFlags.PF | RFlags.CF));
        Assert.Equal(X86Core.FswC0, _cpu.Core.Fsw & (X86Core.FswC0 | X86Core.FswC2 | X86Core.FswC3));
    }

    [Fact]
    public void Fxam_classifies_an_empty_register_and_a_negative_zero()
    {
        _cpu.Load(a =>
        {
            a.fninit();
            a.fxam();
            a.fldz();
            a.fchs();
            a.fxam();
        });

        _cpu.Step(2);
        Assert.Equal(X86Core.FswC3 | X86Core.FswC0, _cpu.Core.Fsw & ConditionCodes);

        _cpu.Step(3);
        Assert.Equal(X86Core.FswC3 | X86Core.FswC1, _cpu.Core.Fsw & ConditionCodes);
    }

    [Fact]
    public void Fprem_leaves_the_truncated_remainder_and_the_quotient_bits_and_fprem1_the_nearest()
    {
        const short Dividend = 17;
        const short Divisor = 5;
        const ulong TwoSignificand = IntegerBit;
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, Divisor);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress + 2, Dividend);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fild(__word_ptr[rbx]);
            a.fild(__word_ptr[rbx + 2]);
            a.fprem();
            a.fstp(st0);
            a.fild(__word_ptr[rbx + 2]);
            a.fprem1();
        });

        _cpu.Step(4);
        // 17 = 3 × 5 + 2: quotient 011 in C0, C3, C1 = 0, 1, 1; C2 clear (complete).
        Assert.Equal((ExtendedBias + 1, TwoSignificand), St(0));
        Assert.Equal(X86Core.FswC3 | X86Core.FswC1, _cpu.Core.Fsw & ConditionCodes);

        _cpu.Step(3);
        // Nearest: 17 = 3 × 5 + 2 (2 < 2.5), the same remainder.
        Assert.Equal((ExtendedBias + 1, TwoSignificand), St(0));
    }

    [Fact]
    public void Fnsave_then_frstor_brings_back_the_stack_and_fnsave_reinitialises()
    {
        _cpu.Load(a =>
        {
            a.fninit();
            a.fldpi();
            a.fld1();
            a.fnsave(__[rbx]);
            a.frstor(__[rbx]);
        });

        _cpu.Step(4);
        Assert.Equal(X86Core.FcwInit, _cpu.Core.Fcw);
        Assert.Equal(0, _cpu.Core.Ftw);
        // Full tag word: R7, R6 valid (00), the rest empty (11).
        Assert.Equal((ushort)0x0FFF, _cpu.Vm.Memory.Read<ushort>(CoreFixture.DataAddress + 8));

        _cpu.Step();
        Assert.Equal((ExtendedBias, IntegerBit), St(0));
        Assert.Equal((ExtendedBias + 1, 0xC90F_DAA2_2168_C235UL), St(1));
    }

    [Fact]
    public void Fsqrt_of_two_and_frndint_by_rounding_control()
    {
        const ulong SqrtTwoSignificand = 0xB504_F333_F9DE_6484; // √2 = 1.6A09E667F3BCC908B…₁₆ → ×2^63 rounds to …6484
        _cpu.Load(a =>
        {
            a.fninit();
            a.fld1();
            a.fadd(st0, st0);
            a.fsqrt();
            a.frndint();
        });

        _cpu.Step(4);
        Assert.Equal((ExtendedBias, SqrtTwoSignificand), St(0));

        _cpu.Step();
        Assert.Equal((ExtendedBias, IntegerBit), St(0));
    }

    [Fact]
    public void Fscale_multiplies_by_a_power_of_two()
    {
        const short Three = 3;
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, Three);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fild(__word_ptr[rbx]);
            a.fld1();
            a.fscale();
        });

        _cpu.Step(4);

        Assert.Equal((ExtendedBias + 3, IntegerBit), St(0));
    }

    [Fact]
    public void Fld_of_a_signalling_nan_double_quiets_it_and_sets_invalid()
    {
        const ulong SignallingNaN = 0x7FF0_0000_0000_0001;
        const ulong QuietedSignificand = IntegerBit | HalfBit | (1UL << 11);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, SignallingNaN);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fld(__qword_ptr[rbx]);
        });

        _cpu.Step(2);

        Assert.Equal(((ushort)0x7FFF, QuietedSignificand), St(0));
        Assert.Equal(InvalidFlag, _cpu.Core.Fsw & InvalidFlag);
    }

    [Fact]
    public void Adding_a_denormal_operand_sets_de()
    {
        const ulong DenormalDouble = 1;
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, DenormalDouble);
        _cpu.Load(a =>
        {
            a.fninit();
            a.fld1();
            a.fadd(__qword_ptr[rbx]);
        });

        _cpu.Step(3);

        Assert.Equal(DenormalFlag | PrecisionFlag, _cpu.Core.Fsw & (DenormalFlag | PrecisionFlag));
    }

    private (ushort SignExponent, ulong Significand) St(int index)
    {
        int top = (_cpu.Core.Fsw & X86Core.FswTopMask) >> X86Core.FswTopShift;
        return _cpu.Core.X87Register((top + index) & 7);
    }

    public void Dispose() => _cpu.Dispose();
}
