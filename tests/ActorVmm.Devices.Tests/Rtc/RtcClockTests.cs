using ActorVmm.Devices.Rtc;
using static ActorVmm.Devices.Rtc.Mc146818Rtc;

namespace ActorVmm.Devices.Tests.Rtc;

public sealed class RtcClockTests : RtcTestBase
{
    private const byte TwentyFirstCentury = 20;
    private const int NoonHour = 12;
    private const int MidnightHour = 0;
    private const int TwelveHourDisplay = 12;

    private static byte Bcd(int value) => RtcTimeCodec.ToBcd(value);

    [Fact]
    public void Default_mode_reads_the_fake_clock_in_BCD_24_hour()
    {
        Assert.Equal(Bcd(Second), ReadCmos(SecondsIndex));
        Assert.Equal(Bcd(Minute), ReadCmos(MinutesIndex));
        Assert.Equal(Bcd(Hour), ReadCmos(HoursIndex));
        Assert.Equal(Bcd(Wednesday), ReadCmos(DayOfWeekIndex));
        Assert.Equal(Bcd(Day), ReadCmos(DayOfMonthIndex));
        Assert.Equal(Bcd(Month), ReadCmos(MonthIndex));
        Assert.Equal(Bcd(Year % 100), ReadCmos(YearIndex));
        Assert.Equal(Bcd(TwentyFirstCentury), ReadCmos(CenturyIndex));
    }

    [Fact]
    public void Binary_mode_reads_plain_values()
    {
        SetRegisterBBits(RegisterBBinaryBit);

        Assert.Equal(Second, ReadCmos(SecondsIndex));
        Assert.Equal(Hour, ReadCmos(HoursIndex));
        Assert.Equal(Year % 100, ReadCmos(YearIndex));
    }

    [Fact]
    public void Twelve_hour_mode_sets_the_PM_bit_in_the_afternoon()
    {
        WriteCmos(RegisterBIndex, 0); // BCD, 12-hour

        Assert.Equal(RtcTimeCodec.PmBit | Bcd(Hour - NoonHour), ReadCmos(HoursIndex));
    }

    [Theory]
    [InlineData(MidnightHour, TwelveHourDisplay, false)]
    [InlineData(NoonHour, TwelveHourDisplay, true)]
    [InlineData(Hour, Hour - NoonHour, true)]
    public void Twelve_hour_codec_maps_midnight_and_noon_to_12(int hour24, int displayed, bool pm)
    {
        var codec = new RtcTimeCodec(Binary: false, Hour24: false);

        byte encoded = codec.EncodeHours(hour24);

        Assert.Equal(Bcd(displayed) | (pm ? RtcTimeCodec.PmBit : 0), encoded);
        Assert.Equal(hour24, codec.DecodeHours(encoded));
    }

    [Fact]
    public void Clock_advances_with_the_injected_time_provider()
    {
        const int ElapsedSeconds = 5;
        Time.Advance(TimeSpan.FromSeconds(ElapsedSeconds));

        Assert.Equal(Bcd(Second + ElapsedSeconds), ReadCmos(SecondsIndex));
    }

    [Fact]
    public void UIP_is_set_only_in_the_last_244_microseconds_before_a_second_boundary()
    {
        Assert.Equal(0, ReadCmos(RegisterAIndex) & RegisterAUipBit);

        var now = Time.GetUtcNow();
        var nextSecond = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero).AddSeconds(1);
        Time.Advance(nextSecond - now - (UipHold / 2));
        Assert.Equal(RegisterAUipBit, ReadCmos(RegisterAIndex) & RegisterAUipBit);

        Time.Advance(UipHold);
        Assert.Equal(0, ReadCmos(RegisterAIndex) & RegisterAUipBit);
    }

    [Fact]
    public void Guest_setting_the_clock_stores_an_offset_and_keeps_counting_from_the_new_time()
    {
        const int SetYear = 2031;
        const int SetMonth = 2;
        const int SetDay = 3;
        const int SetHour = 4;
        const int SetMinute = 5;
        const int SetSecond = 6;
        const int ElapsedSeconds = 10;
        var hostBefore = Time.GetUtcNow();

        SetRegisterBBits(RegisterBSetBit);
        WriteCmos(SecondsIndex, Bcd(SetSecond));
        WriteCmos(MinutesIndex, Bcd(SetMinute));
        WriteCmos(HoursIndex, Bcd(SetHour));
        WriteCmos(DayOfMonthIndex, Bcd(SetDay));
        WriteCmos(MonthIndex, Bcd(SetMonth));
        WriteCmos(YearIndex, Bcd(SetYear % 100));
        WriteCmos(CenturyIndex, Bcd(SetYear / 100));
        WriteCmos(RegisterBIndex, (byte)(ReadCmos(RegisterBIndex) & ~RegisterBSetBit));
        Time.Advance(TimeSpan.FromSeconds(ElapsedSeconds));

        Assert.Equal(Bcd(SetSecond + ElapsedSeconds), ReadCmos(SecondsIndex));
        Assert.Equal(Bcd(SetHour), ReadCmos(HoursIndex));
        Assert.Equal(Bcd(SetYear % 100), ReadCmos(YearIndex));
        Assert.Equal(new DateTime(SetYear, SetMonth, SetDay, SetHour, SetMinute, SetSecond, DateTimeKind.Utc) - hostBefore.UtcDateTime, Rtc.Inspect(r => r.Offset));
        Assert.Equal(hostBefore.AddSeconds(ElapsedSeconds), Time.GetUtcNow());
    }

    [Fact]
    public void Clock_registers_hold_still_while_SET_is_on()
    {
        SetRegisterBBits(RegisterBSetBit);
        byte frozen = ReadCmos(SecondsIndex);

        Time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(frozen, ReadCmos(SecondsIndex));
        Assert.Equal(0, ReadCmos(RegisterAIndex) & RegisterAUipBit);
    }

    [Fact]
    public void Setting_SET_clears_the_update_interrupt_enable()
    {
        WriteCmos(RegisterBIndex, RegisterB24HourBit | RegisterBUieBit | RegisterBSetBit);

        Assert.Equal(0, ReadCmos(RegisterBIndex) & RegisterBUieBit);
    }

    [Fact]
    public void Invalid_date_written_by_the_guest_rolls_over_instead_of_throwing()
    {
        const byte MonthThirteen = 0x13;
        SetRegisterBBits(RegisterBSetBit);
        WriteCmos(MonthIndex, MonthThirteen);
        WriteCmos(RegisterBIndex, RegisterB24HourBit);

        Assert.Equal(Bcd(1), ReadCmos(MonthIndex));
        Assert.Equal(Bcd((Year + 1) % 100), ReadCmos(YearIndex));
    }
}
