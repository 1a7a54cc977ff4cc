using ActorVmm.Emulator.Apic;
using ActorVmm.Emulator.Time;
using Microsoft.Extensions.Time.Testing;
using static ActorVmm.Machine.Interrupts.LocalApicRegisters;

namespace ActorVmm.Emulator.Tests.Interrupts;

/// <summary>The local APIC timer on a fake clock: one-shot, periodic, divide configuration, masking.</summary>
public sealed class LocalApicTimerTests
{
    private const byte TimerVector = 0xEC;
    private const uint InitialCount = 1000;

    private readonly FakeTimeProvider _time = new();
    private readonly LocalApic _apic;

    public LocalApicTimerTests()
    {
        _apic = new LocalApic(0, new VirtualClock(_time));
        _apic.WriteRegister(SpuriousVector, SoftwareEnable | SpuriousVectorReset);
    }

    /// <summary>Nanoseconds one count of the timer takes at <paramref name="divide"/>.</summary>
    private static long CountNanoseconds(uint divide) => LocalApic.Divisor(divide) * VirtualClock.NanosecondsPerSecond / VirtualClock.ApicTimerHz;

    private void Advance(long nanoseconds) => _time.Advance(TimeSpan.FromTicks(nanoseconds / 100));

    private bool TakeTimerInterrupt()
    {
        if (!_apic.TryAcknowledge(out byte vector))
        {
            return false;
        }

        Assert.Equal(TimerVector, vector);
        _apic.WriteRegister(EndOfInterrupt, 0);
        return true;
    }

    [Theory]
    [InlineData(TimerDivideBy1, 1)]
    [InlineData(TimerDivideBy2, 2)]
    [InlineData(TimerDivideBy16, 16)]
    [InlineData(TimerDivideBy128, 128)]
    public void The_divide_configuration_selects_the_documented_divisor(uint divide, int divisor)
    {
        Assert.Equal(divisor, LocalApic.Divisor(divide));
    }

    [Fact]
    public void A_one_shot_timer_counts_down_at_the_divided_rate_and_interrupts_once_at_zero()
    {
        _apic.WriteRegister(TimerDivide, TimerDivideBy16);
        _apic.WriteRegister(LvtTimer, TimerModeOneShot | TimerVector);
        _apic.WriteRegister(TimerInitialCount, InitialCount);
        long count = CountNanoseconds(TimerDivideBy16);

        Advance(count * 400);
        Assert.Equal(InitialCount - 400, _apic.ReadRegister(TimerCurrentCount));
        Assert.False(_apic.PollTimer());

        Advance(count * 600);
        Assert.True(_apic.PollTimer());
        Assert.True(TakeTimerInterrupt());
        Assert.Equal(0u, _apic.ReadRegister(TimerCurrentCount));

        Advance(count * InitialCount * 3);
        Assert.False(_apic.PollTimer());
        Assert.Equal(LocalApic.NoDeadline, _apic.TimerDeadline);
        Assert.Equal(1, _apic.TimerInterrupts);
    }

    [Fact]
    public void A_periodic_timer_reloads_and_interrupts_every_period_and_coalesces_missed_ones()
    {
        _apic.WriteRegister(TimerDivide, TimerDivideBy2);
        _apic.WriteRegister(LvtTimer, TimerModePeriodic | TimerVector);
        _apic.WriteRegister(TimerInitialCount, InitialCount);
        long period = CountNanoseconds(TimerDivideBy2) * InitialCount;

        for (int i = 0; i < 3; i++)
        {
            Advance(period);
            Assert.True(_apic.PollTimer(), $"period {i}");
            Assert.True(TakeTimerInterrupt());
        }

        Advance(period / 4);
        Assert.Equal(InitialCount - (InitialCount / 4), _apic.ReadRegister(TimerCurrentCount));

        // Five periods pass unobserved: one interrupt, and the next deadline is the next period boundary.
        Advance((period * 5) - (period / 4));
        Assert.True(_apic.PollTimer());
        Assert.True(TakeTimerInterrupt());
        Assert.False(_apic.PollTimer());
        Advance(period);
        Assert.True(_apic.PollTimer());
        Assert.Equal(5, _apic.TimerInterrupts);
    }

    [Fact]
    public void A_masked_timer_keeps_counting_but_requests_nothing()
    {
        _apic.WriteRegister(TimerDivide, TimerDivideBy1);
        _apic.WriteRegister(LvtTimer, LvtMasked | TimerModeOneShot | TimerVector);
        _apic.WriteRegister(TimerInitialCount, InitialCount);

        Advance(CountNanoseconds(TimerDivideBy1) * InitialCount / 2);
        Assert.Equal(InitialCount / 2, _apic.ReadRegister(TimerCurrentCount));
        Advance(CountNanoseconds(TimerDivideBy1) * InitialCount);

        Assert.False(_apic.PollTimer());
        Assert.False(_apic.HasRequests);
        Assert.Equal(0u, _apic.ReadRegister(TimerCurrentCount));
    }

    [Fact]
    public void Writing_an_initial_count_of_zero_stops_the_timer()
    {
        _apic.WriteRegister(LvtTimer, TimerModePeriodic | TimerVector);
        _apic.WriteRegister(TimerInitialCount, InitialCount);
        Assert.NotEqual(LocalApic.NoDeadline, _apic.TimerDeadline);

        _apic.WriteRegister(TimerInitialCount, 0);
        Advance(CountNanoseconds(TimerDivideBy128) * InitialCount * 4);

        Assert.Equal(LocalApic.NoDeadline, _apic.TimerDeadline);
        Assert.False(_apic.PollTimer());
        Assert.Equal(0u, _apic.ReadRegister(TimerCurrentCount));
    }

    [Fact]
    public void A_new_divisor_mid_count_continues_from_the_current_count_at_the_new_rate()
    {
        _apic.WriteRegister(TimerDivide, TimerDivideBy1);
        _apic.WriteRegister(LvtTimer, TimerModeOneShot | TimerVector);
        _apic.WriteRegister(TimerInitialCount, InitialCount);
        Advance(CountNanoseconds(TimerDivideBy1) * 200);

        _apic.WriteRegister(TimerDivide, TimerDivideBy16);
        Assert.Equal(InitialCount - 200, _apic.ReadRegister(TimerCurrentCount));
        Advance(CountNanoseconds(TimerDivideBy16) * 100);

        Assert.Equal(InitialCount - 300, _apic.ReadRegister(TimerCurrentCount));
        Advance(CountNanoseconds(TimerDivideBy16) * (InitialCount - 300));
        Assert.True(_apic.PollTimer());
    }

    [Fact]
    public void In_tsc_deadline_mode_the_timer_fires_once_when_the_tsc_reaches_the_deadline_and_then_reads_zero()
    {
        const ulong Offset = 5000;
        ulong deadline = VirtualClock.ToTsc(3000) + Offset;
        _apic.WriteRegister(LvtTimer, TimerModeTscDeadline | TimerVector);
        _apic.WriteTscDeadline(deadline, Offset);
        Assert.Equal(deadline, _apic.ReadTscDeadline());

        Advance(2000);
        Assert.False(_apic.PollTimer());
        Advance(1000);

        Assert.True(_apic.PollTimer());
        Assert.True(TakeTimerInterrupt());
        Assert.Equal(0UL, _apic.ReadTscDeadline());
        Advance(10_000);
        Assert.False(_apic.PollTimer());
    }

    [Fact]
    public void Tsc_deadline_writes_are_ignored_outside_that_mode_and_a_mode_change_disarms_the_timer()
    {
        _apic.WriteRegister(LvtTimer, TimerModeOneShot | TimerVector);
        _apic.WriteTscDeadline(VirtualClock.ToTsc(1000), 0);
        Assert.Equal(0UL, _apic.ReadTscDeadline());
        Assert.Equal(LocalApic.NoDeadline, _apic.TimerDeadline);

        _apic.WriteRegister(LvtTimer, TimerModeTscDeadline | TimerVector);
        _apic.WriteRegister(TimerInitialCount, InitialCount); // ignored in TSC-deadline mode
        Assert.Equal(0u, _apic.ReadRegister(TimerInitialCount));
        _apic.WriteTscDeadline(VirtualClock.ToTsc(1000), 0);
        _apic.WriteRegister(LvtTimer, TimerModePeriodic | TimerVector);

        Assert.Equal(0UL, _apic.ReadTscDeadline());
        Advance(5000);
        Assert.False(_apic.PollTimer());
    }

    [Fact]
    public void A_tsc_deadline_of_zero_disarms_and_one_in_the_past_fires_at_once()
    {
        _apic.WriteRegister(LvtTimer, TimerModeTscDeadline | TimerVector);
        _apic.WriteTscDeadline(VirtualClock.ToTsc(1000), 0);
        _apic.WriteTscDeadline(0, 0);
        Advance(2000);
        Assert.False(_apic.PollTimer());

        _apic.WriteTscDeadline(1, 0);

        Assert.True(_apic.PollTimer());
    }

    [Fact]
    public void Init_stops_the_timer_and_resets_the_registers_but_keeps_the_id()
    {
        var apic = new LocalApic(1, new VirtualClock(_time));
        apic.WriteRegister(SpuriousVector, SoftwareEnable | SpuriousVectorReset);
        apic.WriteRegister(LvtTimer, TimerModePeriodic | TimerVector);
        apic.WriteRegister(TimerInitialCount, InitialCount);
        apic.AcceptFixed(TimerVector);

        apic.ResetForInit();

        Assert.Equal(LocalApic.NoDeadline, apic.TimerDeadline);
        Assert.False(apic.HasRequests);
        Assert.False(apic.IsSoftwareEnabled);
        Assert.Equal(LvtMasked, apic.ReadRegister(LvtTimer));
        Assert.Equal(1u << IdShift, apic.ReadRegister(Id));
    }
}
