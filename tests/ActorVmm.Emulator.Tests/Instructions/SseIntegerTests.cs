using ActorVmm.Emulator.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Emulator.Tests.Instructions;

/// <summary>SSE2 packed-integer saturation, multiplies, PSADBW, packs and shifts by a register count, worked out by hand.</summary>
public sealed class SseIntegerTests : IDisposable
{
    private const ulong WordsMax = 0x7FFF_7FFF_7FFF_7FFF;
    private const ulong WordsMin = 0x8000_8000_8000_8000;
    private const ulong WordsOne = 0x0001_0001_0001_0001;
    private const ulong BytesF0 = 0xF0F0_F0F0_F0F0_F0F0;
    private const ulong Bytes20 = 0x2020_2020_2020_2020;

    private readonly CoreFixture _cpu = new();

    public SseIntegerTests()
    {
        _cpu.Core.Cr4 |= X86Core.Cr4OSFXSR | X86Core.Cr4OSXMMEXCPT;
    }

    [Fact]
    public void Saturating_adds_clamp_at_the_signed_and_unsigned_limits()
    {
        SetXmm(0, WordsMax, WordsMin);
        SetXmm(1, WordsOne, WordsOne);
        SetXmm(2, BytesF0, BytesF0);
        SetXmm(3, Bytes20, Bytes20);
        _cpu.Load(a =>
        {
            a.paddsw(xmm0, xmm1);
            a.paddusb(xmm2, xmm3);
        });

        _cpu.Step(2);

        Assert.Equal((WordsMax, WordsMin + WordsOne), Xmm(0));
        Assert.Equal((ulong.MaxValue, ulong.MaxValue), Xmm(2));
    }

    [Fact]
    public void Pmaddwd_wraps_only_for_two_most_negative_products_and_pmuludq_multiplies_the_even_doublewords()
    {
        const ulong MinTimesMinSum = 0x8000_0000_8000_0000; // (−2^15)² × 2 = 2^31 wraps to int.MinValue
        const ulong Low32 = 0xFFFF_FFFF;
        SetXmm(0, WordsMin, WordsMin);
        SetXmm(1, WordsMin, WordsMin);
        SetXmm(2, Low32, Low32);
        SetXmm(3, Low32, 2);
        _cpu.Load(a =>
        {
            a.pmaddwd(xmm0, xmm1);
            a.pmuludq(xmm2, xmm3);
        });

        _cpu.Step(2);

        Assert.Equal((MinTimesMinSum, MinTimesMinSum), Xmm(0));
        Assert.Equal((Low32 * Low32, Low32 * 2), Xmm(2));
    }

    [Fact]
    public void Psadbw_sums_the_absolute_byte_differences_per_quadword()
    {
        const ulong Difference = 8 * (0xF0 - 0x20);
        SetXmm(0, Bytes20, BytesF0);
        SetXmm(1, BytesF0, BytesF0);
        _cpu.Load(a => a.psadbw(xmm0, xmm1));

        _cpu.Step();

        Assert.Equal((Difference, 0UL), Xmm(0));
    }

    [Fact]
    public void Packsswb_saturates_words_into_bytes()
    {
        const ulong Words = 0x0100_FF00_0001_FFFF; // 256, −256, 1, −1
        const ulong Packed = 0x7F80_01FF;
        SetXmm(0, Words, 0);
        SetXmm(1, 0, 0);
        _cpu.Load(a => a.packsswb(xmm0, xmm1));

        _cpu.Step();

        Assert.Equal((Packed, 0UL), Xmm(0));
    }

    [Fact]
    public void A_shift_by_register_uses_the_whole_low_quadword_as_the_count()
    {
        const ulong HugeCount = 1UL << 32;
        const int SmallCount = 4;
        const ulong WordsMaxShifted = 0x07FF_07FF_07FF_07FF; // each 0x7FFF >> 4
        SetXmm(0, WordsMax, WordsMax);
        SetXmm(1, SmallCount, 0);
        SetXmm(2, WordsMin, WordsMin);
        SetXmm(3, HugeCount, 0);
        _cpu.Load(a =>
        {
            a.psrlw(xmm0, xmm1);
            a.psraw(xmm2, xmm3);
        });

        _cpu.Step(2);

        Assert.Equal((WordsMaxShifted, WordsMaxShifted), Xmm(0));
        Assert.Equal((ulong.MaxValue, ulong.MaxValue), Xmm(2));
    }

    private void SetXmm(int register, ulong low, ulong high)
    {
        _cpu.Core.Xmm[2 * register] = low;
        _cpu.Core.Xmm[(2 * register) + 1] = high;
    }

    private (ulong Low, ulong High) Xmm(int register) => (_cpu.Core.Xmm[2 * register], _cpu.Core.Xmm[(2 * register) + 1]);

    public void Dispose() => _cpu.Dispose();
}
