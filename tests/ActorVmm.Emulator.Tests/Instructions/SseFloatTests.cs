using ActorVmm.Emulator.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>
/// SSE/SSE2 floating point: MXCSR rounding, the exception flags, FTZ, #XM/#UD for unmasked exceptions, the NaN rules and
/// the zeroing rules of the scalar moves. Expected bit patterns are worked out from the IEEE formats by hand.
/// </summary>
public sealed class SseFloatTests : IDisposable
{
    private const uint OneSingle = 0x3F80_0000;
    private const uint ThreeSingle = 0x4040_0000;
    private const uint OneThirdNearest = 0x3EAA_AAAB; // 1/3 = 0x3EAAAAAA|AAA…: rounds up to nearest
    private const uint OneThirdDown = 0x3EAA_AAAA;
    private const ulong OneDouble = 0x3FF0_0000_0000_0000;
    private const ulong TwoDouble = 0x4000_0000_0000_0000;
    private const ulong ZeroDouble = 0;
    private const ulong MinNormalDouble = 0x0010_0000_0000_0000;
    private const ulong HalfDouble = 0x3FE0_0000_0000_0000;
    private const ulong SmallestDenormalDouble = 1;
    private const ulong QuietNaNDouble = 0x7FF8_0000_0000_0001;
    private const ulong SignallingNaNDouble = 0x7FF0_0000_0000_0001;
    private const ulong OtherQuietNaNDouble = 0x7FF8_0000_0000_0002;
    private const ulong PositiveInfinityDouble = 0x7FF0_0000_0000_0000;
    private const ulong DefaultNaNDouble = 0xFFF8_0000_0000_0000;
    private const ulong MaxDouble = 0x7FEF_FFFF_FFFF_FFFF;
    private const ulong Filler = 0xDEAD_BEEF_CAFE_F00D;
    private const uint Invalid = 1 << 0;
    private const uint Denormal = 1 << 1;
    private const uint DivideByZero = 1 << 2;
    private const uint Overflow = 1 << 3;
    private const uint Underflow = 1 << 4;
    private const uint Precision = 1 << 5;
    private const uint FlagBits = 0x3F;
    private const uint RoundDown = 1u << 13;
    private const uint FlushToZero = 1u << 15;
    private const uint InvalidMask = 1u << 7;
    private const uint DivideByZeroMask = 1u << 9;

    private readonly CoreFixture _cpu = new();

    public SseFloatTests()
    {
        _cpu.Core.Cr4 |= X86Core.Cr4OSFXSR | X86Core.Cr4OSXMMEXCPT;
        _cpu.Core.Gpr[X86Core.RBX] = CoreFixture.DataAddress;
    }

    [Fact]
    public void Divss_rounds_by_mxcsr_and_sets_precision()
    {
        SetXmm(0, OneSingle, 0);
        SetXmm(1, ThreeSingle, 0);
        SetXmm(2, OneSingle, 0);
        _cpu.Load(a =>
        {
            a.divss(xmm0, xmm1);
            a.ldmxcsr(__dword_ptr[rbx]);
            a.divss(xmm2, xmm1);
        });
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, X86Core.MxcsrInit | RoundDown);

        _cpu.Step(3);

        Assert.Equal(OneThirdNearest, (uint)_cpu.Core.Xmm[0]);
        Assert.Equal(OneThirdDown, (uint)_cpu.Core.Xmm[4]);
        Assert.Equal(Precision, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void Addsd_keeps_the_upper_lane_and_addpd_computes_both()
    {
        SetXmm(0, OneDouble, Filler);
        SetXmm(1, OneDouble, OneDouble);
        SetXmm(2, OneDouble, HalfDouble);
        _cpu.Load(a =>
        {
            a.addsd(xmm0, xmm1);
            a.addpd(xmm1, xmm2);
        });

        _cpu.Step(2);

        Assert.Equal((TwoDouble, Filler), Xmm(0));
        Assert.Equal((TwoDouble, 0x3FF8_0000_0000_0000UL), Xmm(1));
        Assert.Equal(0u, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void Dividing_by_zero_gives_infinity_and_ze_and_zero_by_zero_the_default_nan_and_ie()
    {
        SetXmm(0, OneDouble, ZeroDouble);
        SetXmm(1, ZeroDouble, ZeroDouble);
        _cpu.Load(a => a.divpd(xmm0, xmm1));

        _cpu.Step();

        Assert.Equal((PositiveInfinityDouble, DefaultNaNDouble), Xmm(0));
        Assert.Equal(DivideByZero | Invalid, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void Multiplying_the_largest_double_by_two_overflows_to_infinity()
    {
        SetXmm(0, MaxDouble, 0);
        SetXmm(1, TwoDouble, 0);
        _cpu.Load(a => a.mulsd(xmm0, xmm1));

        _cpu.Step();

        Assert.Equal(PositiveInfinityDouble, _cpu.Core.Xmm[0]);
        Assert.Equal(Overflow | Precision, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void Halving_the_smallest_normal_is_an_exact_denormal_without_underflow_and_a_denormal_operand_sets_de()
    {
        SetXmm(0, MinNormalDouble, 0);
        SetXmm(1, HalfDouble, 0);
        _cpu.Load(a =>
        {
            a.mulsd(xmm0, xmm1);
            a.addsd(xmm0, xmm0);
        });

        _cpu.Step();
        Assert.Equal(MinNormalDouble >> 1, _cpu.Core.Xmm[0]);
        Assert.Equal(0u, _cpu.Core.Mxcsr & FlagBits);

        _cpu.Step();
        Assert.Equal(MinNormalDouble, _cpu.Core.Xmm[0]);
        Assert.Equal(Denormal, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void An_inexact_tiny_result_underflows_and_with_ftz_becomes_zero()
    {
        SetXmm(0, SmallestDenormalDouble | MinNormalDouble, 0);
        SetXmm(1, HalfDouble, 0);
        SetXmm(2, SmallestDenormalDouble | MinNormalDouble, 0);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, X86Core.MxcsrInit | FlushToZero);
        _cpu.Load(a =>
        {
            a.mulsd(xmm0, xmm1);
            a.ldmxcsr(__dword_ptr[rbx]);
            a.mulsd(xmm2, xmm1);
        });

        _cpu.Step();
        // (2^-1022 + 2^-1074) / 2 is halfway between two denormals: ties to the even one, 2^-1023.
        Assert.Equal(MinNormalDouble >> 1, _cpu.Core.Xmm[0]);
        Assert.Equal(Underflow | Precision, _cpu.Core.Mxcsr & FlagBits);

        _cpu.Step(2);
        Assert.Equal(ZeroDouble, _cpu.Core.Xmm[4]);
        Assert.Equal(Underflow | Precision, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void An_unmasked_exception_raises_simd_exception_and_leaves_the_destination()
    {
        SetXmm(0, OneDouble, 0);
        SetXmm(1, ZeroDouble, 0);
        _cpu.Core.Mxcsr = X86Core.MxcsrInit & ~DivideByZeroMask;
        _cpu.Load(a => a.divsd(xmm0, xmm1));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.XM, fault.Vector);
        Assert.Equal(OneDouble, _cpu.Core.Xmm[0]);
        Assert.Equal(DivideByZero, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void An_unmasked_exception_without_cr4_osxmmexcpt_is_an_invalid_opcode()
    {
        _cpu.Core.Cr4 &= ~X86Core.Cr4OSXMMEXCPT;
        SetXmm(0, SignallingNaNDouble, 0);
        _cpu.Core.Mxcsr = X86Core.MxcsrInit & ~InvalidMask;
        _cpu.Load(a => a.addsd(xmm0, xmm0));

        var fault = Assert.Throws<GuestFault>(() => _cpu.Step());

        Assert.Equal(ExceptionVector.UD, fault.Vector);
    }

    [Fact]
    public void With_two_nans_sse_returns_the_first_operand_quieted()
    {
        SetXmm(0, SignallingNaNDouble, QuietNaNDouble);
        SetXmm(1, OtherQuietNaNDouble, SignallingNaNDouble);
        _cpu.Load(a => a.addpd(xmm0, xmm1));

        _cpu.Step();

        Assert.Equal((QuietNaNDouble, QuietNaNDouble), Xmm(0));
        Assert.Equal(Invalid, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void Minsd_returns_the_second_operand_for_a_nan_or_two_zeros()
    {
        const ulong NegativeZero = 0x8000_0000_0000_0000;
        SetXmm(0, QuietNaNDouble, 0);
        SetXmm(1, OneDouble, 0);
        SetXmm(2, ZeroDouble, 0);
        SetXmm(3, NegativeZero, 0);
        _cpu.Load(a =>
        {
            a.minsd(xmm0, xmm1);
            a.minsd(xmm2, xmm3);
        });

        _cpu.Step(2);

        Assert.Equal(OneDouble, _cpu.Core.Xmm[0]);
        Assert.Equal(NegativeZero, _cpu.Core.Xmm[4]);
        Assert.Equal(Invalid, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void Ucomisd_and_comisd_set_the_flags_and_only_comisd_signals_a_quiet_nan()
    {
        SetXmm(0, OneDouble, 0);
        SetXmm(1, TwoDouble, 0);
        SetXmm(2, QuietNaNDouble, 0);
        _cpu.Load(a =>
        {
            a.comisd(xmm0, xmm1);
            a.ucomisd(xmm0, xmm2);
        });

        _cpu.Step();
        Assert.Equal(RFlags.CF, _cpu.Core.Flags & RFlags.Status);

        _cpu.Step();
        Assert.Equal(RFlags.ZF | RFlags.PF | RFlags.CF, _cpu.Core.Flags & RFlags.Status);
        Assert.Equal(0u, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void Cmppd_less_than_gives_a_lane_mask()
    {
        SetXmm(0, OneDouble, TwoDouble);
        SetXmm(1, TwoDouble, OneDouble);
        const byte LessThan = 1;
        _cpu.Load(a => a.cmppd(xmm0, xmm1, LessThan));

        _cpu.Step();

        Assert.Equal((ulong.MaxValue, 0UL), Xmm(0));
    }

    [Fact]
    public void Cvttsd2si_truncates_cvtsd2si_rounds_to_even_and_out_of_range_gives_the_integer_indefinite()
    {
        const ulong TwoAndAHalf = 0x4004_0000_0000_0000;
        const ulong TwoToThe31 = 0x41E0_0000_0000_0000;
        SetXmm(0, TwoAndAHalf, 0);
        SetXmm(1, TwoToThe31, 0);
        _cpu.Load(a =>
        {
            a.cvttsd2si(eax, xmm0);
            a.cvtsd2si(ecx, xmm0);
            a.cvtsd2si(edx, xmm1);
            a.cvtsd2si(rsi, xmm1);
        });

        _cpu.Step(4);

        Assert.Equal(2UL, _cpu.Core.Gpr[X86Core.RAX]);
        Assert.Equal(2UL, _cpu.Core.Gpr[X86Core.RCX]);
        Assert.Equal(0x8000_0000UL, _cpu.Core.Gpr[X86Core.RDX]);
        Assert.Equal(1UL << 31, _cpu.Core.Gpr[X86Core.RSI]);
        Assert.Equal(Invalid | Precision, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void Cvtsi2sd_converts_a_64_bit_integer_and_cvtsd2ss_narrows()
    {
        const long Value = -3;
        const ulong MinusThreeDouble = 0xC008_0000_0000_0000;
        const uint MinusThreeSingle = 0xC040_0000;
        _cpu.Core.Gpr[X86Core.RAX] = unchecked((ulong)Value);
        SetXmm(0, Filler, Filler);
        _cpu.Load(a =>
        {
            a.cvtsi2sd(xmm0, rax);
            a.cvtsd2ss(xmm1, xmm0);
        });

        _cpu.Step(2);

        Assert.Equal((MinusThreeDouble, Filler), Xmm(0));
        Assert.Equal(MinusThreeSingle, (uint)_cpu.Core.Xmm[2]);
    }

    [Fact]
    public void Sqrtsd_of_a_negative_number_is_invalid_and_of_four_is_two()
    {
        const ulong Four = 0x4010_0000_0000_0000;
        const ulong MinusOne = 0xBFF0_0000_0000_0000;
        SetXmm(1, Four, 0);
        SetXmm(2, MinusOne, 0);
        _cpu.Load(a =>
        {
            a.sqrtsd(xmm0, xmm1);
            a.sqrtsd(xmm3, xmm2);
        });

        _cpu.Step(2);

        Assert.Equal(TwoDouble, _cpu.Core.Xmm[0]);
        Assert.Equal(DefaultNaNDouble, _cpu.Core.Xmm[6]);
        Assert.Equal(Invalid, _cpu.Core.Mxcsr & FlagBits);
    }

    [Fact]
    public void Movsd_from_memory_zeroes_the_upper_lane_and_between_registers_keeps_it()
    {
        SetXmm(0, Filler, Filler);
        SetXmm(1, Filler, Filler);
        SetXmm(2, OneDouble, TwoDouble);
        _cpu.Vm.Memory.Write(CoreFixture.DataAddress, HalfDouble);
        _cpu.Load(a =>
        {
            a.movsd(xmm0, __qword_ptr[rbx]);
            a.movsd(xmm1, xmm2);
        });

        _cpu.Step(2);

        Assert.Equal((HalfDouble, 0UL), Xmm(0));
        Assert.Equal((OneDouble, Filler), Xmm(1));
    }

    [Fact]
    public void Rcpss_stays_within_the_architectural_error_bound()
    {
        const float Input = 3f;
        const double MaximumRelativeError = 1.5 / 4096;
        SetXmm(0, BitConverter.SingleToUInt32Bits(Input), 0);
        _cpu.Load(a => a.rcpss(xmm1, xmm0));

        _cpu.Step();

        float reciprocal = BitConverter.UInt32BitsToSingle((uint)_cpu.Core.Xmm[2]);
        Assert.InRange(Math.Abs((reciprocal * (double)Input) - 1), 0, MaximumRelativeError);
    }

    private void SetXmm(int register, ulong low, ulong high)
    {
        _cpu.Core.Xmm[2 * register] = low;
        _cpu.Core.Xmm[(2 * register) + 1] = high;
    }

    private (ulong Low, ulong High) Xmm(int register) => (_cpu.Core.Xmm[2 * register], _cpu.Core.Xmm[(2 * register) + 1]);

    public void Dispose() => _cpu.Dispose();
}
