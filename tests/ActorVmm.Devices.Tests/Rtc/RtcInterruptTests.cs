using ActorVmm.Devices.Rtc;
using static ActorVmm.Devices.Rtc.Mc146818Rtc;

namespace ActorVmm.Devices.Tests.Rtc;

public sealed class RtcInterruptTests : RtcTestBase
{
    private const byte Rate1024Hz = 0x06;
    private const byte Rate2Hz = 0x0F;
    private const byte DividerNormal = 0x20;
    private const long Period1024HzCycles = 32;
    private const byte AlarmDontCare = 0xFF;
    private const int AlarmDelaySeconds = 3;

    private static TimeSpan Cycles(long cycles) => TimeSpan.FromTicks(((cycles * TimeSpan.TicksPerSecond) + TimeBaseHz - 1) / TimeBaseHz);

    [Fact]
    public void Nothing_is_scheduled_while_no_interrupt_is_enabled()
    {
        Assert.Null(Rtc.OnTimer());
        Assert.False(Irq.Level);
    }

    [Fact]
    public void Periodic_interrupt_at_1024Hz_raises_IRQ8_and_register_C_read_clears_it()
    {
        WriteCmos(RegisterAIndex, DividerNormal | Rate1024Hz);
        SetRegisterBBits(RegisterBPieBit);

        TimeSpan? due = Rtc.OnTimer();
        Assert.NotNull(due);
        Assert.True(due.Value <= Cycles(Period1024HzCycles) + TimeSpan.FromTicks(1));
        Time.Advance(due.Value);
        Rtc.OnTimer();

        Assert.True(Irq.Level);
        Assert.Equal(RegisterCIrqfBit | RegisterCPfBit, ReadCmos(RegisterCIndex) & (RegisterCIrqfBit | RegisterCPfBit));
        Assert.False(Irq.Level);
        Assert.Equal(0, ReadCmos(RegisterCIndex));
    }

    [Fact]
    public void Periodic_flag_is_set_even_with_PIE_off_but_no_interrupt_is_raised()
    {
        WriteCmos(RegisterAIndex, DividerNormal | Rate2Hz);
        Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(RegisterCPfBit, ReadCmos(RegisterCIndex) & (RegisterCPfBit | RegisterCIrqfBit));
        Assert.Equal(0, Irq.RisingEdges);
    }

    [Fact]
    public void Periodic_interrupts_continue_while_SET_inhibits_updates_but_update_flags_do_not()
    {
        WriteCmos(RegisterAIndex, DividerNormal | Rate2Hz);
        SetRegisterBBits(RegisterBSetBit | RegisterBPieBit);

        Time.Advance(TimeSpan.FromSeconds(1));
        Rtc.OnTimer();

        Assert.True(Irq.Level);
        Assert.Equal(RegisterCIrqfBit | RegisterCPfBit, ReadCmos(RegisterCIndex));
    }

    [Fact]
    public void Update_ended_interrupt_fires_after_each_second_boundary()
    {
        SetRegisterBBits(RegisterBUieBit);

        TimeSpan? due = Rtc.OnTimer();
        Assert.NotNull(due);
        Assert.True(due.Value <= TimeSpan.FromMilliseconds(HalfSecondMs) + TimeSpan.FromTicks(1));
        AdvancePastNextSecond();
        Rtc.OnTimer();

        Assert.True(Irq.Level);
        Assert.Equal(RegisterCIrqfBit | RegisterCUfBit, ReadCmos(RegisterCIndex) & (RegisterCIrqfBit | RegisterCUfBit));
        AdvancePastNextSecond();
        Rtc.OnTimer();
        Assert.Equal(2, Irq.RisingEdges);
    }

    [Fact]
    public void Alarm_fires_when_hours_minutes_and_seconds_match()
    {
        WriteCmos(SecondsAlarmIndex, RtcTimeCodec.ToBcd(Second + AlarmDelaySeconds));
        WriteCmos(MinutesAlarmIndex, RtcTimeCodec.ToBcd(Minute));
        WriteCmos(HoursAlarmIndex, RtcTimeCodec.ToBcd(Hour));
        SetRegisterBBits(RegisterBAieBit);

        for (int i = 1; i < AlarmDelaySeconds; i++)
        {
            AdvancePastNextSecond();
            Rtc.OnTimer();
        }

        Assert.False(Irq.Level);
        AdvancePastNextSecond();
        Rtc.OnTimer();
        Assert.True(Irq.Level);
        Assert.Equal(RegisterCAfBit, ReadCmos(RegisterCIndex) & RegisterCAfBit);
    }

    [Fact]
    public void Alarm_with_dont_care_bytes_matches_every_second()
    {
        WriteCmos(SecondsAlarmIndex, AlarmDontCare);
        WriteCmos(MinutesAlarmIndex, AlarmDontCare);
        WriteCmos(HoursAlarmIndex, AlarmDontCare);
        SetRegisterBBits(RegisterBAieBit);

        AdvancePastNextSecond();
        Rtc.OnTimer();

        Assert.Equal(RegisterCIrqfBit | RegisterCAfBit, ReadCmos(RegisterCIndex) & (RegisterCIrqfBit | RegisterCAfBit));
    }

    [Fact]
    public void Alarm_missed_by_a_late_timer_is_still_flagged_when_register_C_is_read()
    {
        WriteCmos(SecondsAlarmIndex, RtcTimeCodec.ToBcd(Second + 1));
        WriteCmos(MinutesAlarmIndex, RtcTimeCodec.ToBcd(Minute));
        WriteCmos(HoursAlarmIndex, RtcTimeCodec.ToBcd(Hour));

        Time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(RegisterCAfBit, ReadCmos(RegisterCIndex) & RegisterCAfBit);
    }

    [Fact]
    public void Enabling_PIE_reschedules_the_actor_timer()
    {
        int changes = 0;
        Rtc.ScheduleChanged += () => changes++;

        SetRegisterBBits(RegisterBPieBit);

        Assert.Equal(1, changes);
    }

    [Fact]
    public void Reset_clears_enables_flags_and_lowers_IRQ8()
    {
        SetRegisterBBits(RegisterBUieBit);
        AdvancePastNextSecond();
        Rtc.OnTimer();
        Assert.True(Irq.Level);

        Rtc.Reset();

        Assert.False(Irq.Level);
        Assert.Equal(0, ReadCmos(RegisterBIndex) & RegisterBUieBit);
        Assert.Equal(0, ReadCmos(RegisterCIndex));
    }
}
