using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Rtc;

/// <summary>
/// The Motorola MC146818 real-time clock and its 128 bytes of CMOS RAM as a pure state machine:
/// an index port (offset 0, bit 7 masks NMI) and a data port (offset 1). Guest time is the
/// injected <see cref="TimeProvider"/>'s UTC time plus an offset the guest changes by setting the
/// clock (as QEMU keeps it). Periodic, alarm and update-ended events are computed from the clock
/// lazily: on a register C read and whenever the owner calls <see cref="OnTimer"/>, which says
/// when the next enabled event is due. IRQ 8 is driven high while IRQF is set; reading register C
/// clears the flags and lowers it.
/// </summary>
public sealed class Mc146818Rtc
{
    /// <summary>Index port offset (0x70): bits 6–0 select the CMOS byte, bit 7 disables NMI.</summary>
    public const int IndexOffset = 0;

    /// <summary>Data port offset (0x71): reads and writes the selected byte.</summary>
    public const int DataOffset = 1;

    /// <summary>Ports the RTC decodes.</summary>
    public const int PortCount = 2;

    /// <summary>Bytes of CMOS RAM (clock registers included).</summary>
    public const int CmosSize = 128;

    /// <summary>Index port bit 7: NMI disabled while set.</summary>
    public const byte IndexNmiDisableBit = 0b1000_0000;

    /// <summary>Index port bits 6–0: the CMOS byte.</summary>
    public const byte IndexMask = 0b0111_1111;

    /// <summary>Seconds register.</summary>
    public const int SecondsIndex = 0x00;

    /// <summary>Seconds alarm register.</summary>
    public const int SecondsAlarmIndex = 0x01;

    /// <summary>Minutes register.</summary>
    public const int MinutesIndex = 0x02;

    /// <summary>Minutes alarm register.</summary>
    public const int MinutesAlarmIndex = 0x03;

    /// <summary>Hours register.</summary>
    public const int HoursIndex = 0x04;

    /// <summary>Hours alarm register.</summary>
    public const int HoursAlarmIndex = 0x05;

    /// <summary>Day of week register (1 = Sunday).</summary>
    public const int DayOfWeekIndex = 0x06;

    /// <summary>Day of month register.</summary>
    public const int DayOfMonthIndex = 0x07;

    /// <summary>Month register.</summary>
    public const int MonthIndex = 0x08;

    /// <summary>Year register (two digits).</summary>
    public const int YearIndex = 0x09;

    /// <summary>Register A: UIP, divider, rate select.</summary>
    public const int RegisterAIndex = 0x0A;

    /// <summary>Register B: SET, interrupt enables, data mode, hour format.</summary>
    public const int RegisterBIndex = 0x0B;

    /// <summary>Register C: interrupt flags, read-only, cleared by a read.</summary>
    public const int RegisterCIndex = 0x0C;

    /// <summary>Register D: valid RAM and time, read-only.</summary>
    public const int RegisterDIndex = 0x0D;

    /// <summary>Century register (PC/AT convention, as ACPI's FADT CENTURY field points to).</summary>
    public const int CenturyIndex = 0x32;

    /// <summary>Register A bit 7: update in progress (read-only).</summary>
    public const byte RegisterAUipBit = 0b1000_0000;

    /// <summary>Register A bits 6–4: divider chain select.</summary>
    public const byte RegisterADividerMask = 0b0111_0000;

    /// <summary>Register A bits 3–0: periodic interrupt rate select (0 = off).</summary>
    public const byte RegisterARateMask = 0b0000_1111;

    /// <summary>Register A power-on value: 32.768 kHz time base, 1024 Hz periodic rate.</summary>
    public const byte RegisterADefault = 0x26;

    /// <summary>Register B bit 7: SET, updates stop so the guest can write the time.</summary>
    public const byte RegisterBSetBit = 0b1000_0000;

    /// <summary>Register B bit 6: periodic interrupt enable.</summary>
    public const byte RegisterBPieBit = 0b0100_0000;

    /// <summary>Register B bit 5: alarm interrupt enable.</summary>
    public const byte RegisterBAieBit = 0b0010_0000;

    /// <summary>Register B bit 4: update-ended interrupt enable.</summary>
    public const byte RegisterBUieBit = 0b0001_0000;

    /// <summary>Register B bit 3: square-wave output enable (no pin here; stored).</summary>
    public const byte RegisterBSqweBit = 0b0000_1000;

    /// <summary>Register B bit 2: data mode, 1 = binary, 0 = BCD.</summary>
    public const byte RegisterBBinaryBit = 0b0000_0100;

    /// <summary>Register B bit 1: 1 = 24-hour mode, 0 = 12-hour mode.</summary>
    public const byte RegisterB24HourBit = 0b0000_0010;

    /// <summary>Register B bit 0: daylight saving enable (stored, not applied, as on QEMU).</summary>
    public const byte RegisterBDseBit = 0b0000_0001;

    /// <summary>Register B power-on value: BCD, 24-hour.</summary>
    public const byte RegisterBDefault = RegisterB24HourBit;

    /// <summary>Register C bit 7: an enabled flag is set (IRQ asserted).</summary>
    public const byte RegisterCIrqfBit = 0b1000_0000;

    /// <summary>Register C bit 6: periodic interrupt flag.</summary>
    public const byte RegisterCPfBit = 0b0100_0000;

    /// <summary>Register C bit 5: alarm flag.</summary>
    public const byte RegisterCAfBit = 0b0010_0000;

    /// <summary>Register C bit 4: update-ended flag.</summary>
    public const byte RegisterCUfBit = 0b0001_0000;

    /// <summary>Register D bit 7: valid RAM and time (the battery is good).</summary>
    public const byte RegisterDVrtBit = 0b1000_0000;

    /// <summary>An alarm byte of 0xC0 or above matches every value ("don't care").</summary>
    public const byte AlarmDontCareMin = 0b1100_0000;

    /// <summary>Base memory in KiB, low byte (0x16 high).</summary>
    public const int BaseMemoryLowIndex = 0x15;

    /// <summary>Extended memory above 1 MiB in KiB, low byte (0x18 high; capped at 65535).</summary>
    public const int ExtendedMemoryLowIndex = 0x17;

    /// <summary>Second copy of the extended memory size, low byte (0x31 high), read by SeaBIOS and Linux's setup.</summary>
    public const int ExtendedMemoryCopyLowIndex = 0x30;

    /// <summary>Memory between 16 MiB and the MMIO hole in 64 KiB units, low byte (0x35 high).</summary>
    public const int MemoryAbove16MiBLowIndex = 0x34;

    /// <summary>Memory above 4 GiB in 64 KiB units, three bytes 0x5B–0x5D (QEMU/SeaBIOS convention).</summary>
    public const int MemoryAbove4GiBIndex = 0x5B;

    /// <summary>First byte covered by the standard CMOS checksum.</summary>
    public const int ChecksumFirstIndex = 0x10;

    /// <summary>Last byte covered by the standard CMOS checksum.</summary>
    public const int ChecksumLastIndex = 0x2D;

    /// <summary>Checksum high byte (0x2F low).</summary>
    public const int ChecksumHighIndex = 0x2E;

    /// <summary>Conventional memory reported in KiB.</summary>
    public const int BaseMemoryKiB = 640;

    /// <summary>Time-base clock in Hz (the periodic rate divides it).</summary>
    public const long TimeBaseHz = 32_768;

    /// <summary>UIP is set for the last 244 µs before each update (8 cycles of the 32.768 kHz time base).</summary>
    public static readonly TimeSpan UipHold = TimeSpan.FromTicks(TimeSpan.TicksPerSecond * 8 / TimeBaseHz);

    private const ulong KiB = 1024;
    private const ulong MiB = 1024 * KiB;
    private const ulong SixtyFourKiB = 64 * KiB;
    private const int SixteenBitMax = 0xFFFF;
    private const long SecondsPerDay = 86_400;
    private const byte RateSelectAliasLimit = 2;
    private const byte RateSelectAliasShift = 7;

    private readonly TimeProvider _time;
    private readonly IInterruptLine _irq;
    private readonly byte[] _cmos = new byte[CmosSize];
    private int _index;
    private TimeSpan _offset;
    private long _processedUntil;
    private bool _irqAsserted;

    /// <summary>
    /// Creates the clock at power-on, <paramref name="memory"/> filling the memory-size fields; or, given
    /// <paramref name="state"/>, rebuilt from it (CMOS RAM included) with IRQ 8 driven to the captured level.
    /// </summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the chip can hold.</exception>
    public Mc146818Rtc(TimeProvider time, IInterruptLine irq, CmosMemorySize memory, RtcState? state = null)
    {
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _irq = irq ?? throw new ArgumentNullException(nameof(irq));
        ArgumentNullException.ThrowIfNull(memory);
        if (state is not null)
        {
            LoadState(state);
            return;
        }

        _cmos[RegisterAIndex] = RegisterADefault;
        _cmos[RegisterBIndex] = RegisterBDefault;
        _cmos[RegisterDIndex] = RegisterDVrtBit;
        WriteMemoryFields(memory);
        _processedUntil = GuestTicks();
    }

    /// <summary>True while the guest has bit 7 of the index port set (NMI masked).</summary>
    public bool NmiDisabled { get; private set; }

    /// <summary>The CMOS byte the index port selects.</summary>
    public int SelectedIndex => _index;

    /// <summary>How far the guest's clock is from the host's (zero until the guest sets the time).</summary>
    public TimeSpan Offset => _offset;

    /// <summary>The guest's current time: host time plus <see cref="Offset"/>.</summary>
    public DateTime GuestNow => new(GuestTicks(), DateTimeKind.Utc);

    /// <summary>True while updates are running (register B's SET bit clear).</summary>
    public bool Running => (_cmos[RegisterBIndex] & RegisterBSetBit) == 0;

    /// <summary>Resets as the RESET pin does: interrupt enables and flags clear, IRQ low; time and RAM kept.</summary>
    public void Reset()
    {
        _cmos[RegisterBIndex] &= unchecked((byte)~(RegisterBPieBit | RegisterBAieBit | RegisterBUieBit | RegisterBSqweBit));
        _cmos[RegisterCIndex] = 0;
        _index = 0;
        NmiDisabled = false;
        _processedUntil = GuestTicks();
        LowerIrq();
    }

    /// <summary>A guest read: the index port reads as an empty bus (it is write-only), the data port the selected byte.</summary>
    public byte Read(int offset) => offset == DataOffset ? ReadCmos(_index) : ByteLanes.EmptyBus;

    /// <summary>A guest write. Returns true when the event schedule changed (the owner re-arms its timer).</summary>
    public bool Write(int offset, byte value)
    {
        if (offset != DataOffset)
        {
            NmiDisabled = (value & IndexNmiDisableBit) != 0;
            _index = value & IndexMask;
            return false;
        }

        return WriteCmos(_index, value);
    }

    /// <summary>
    /// Processes the events that fell due up to now (sets flags, raises IRQ 8 for enabled ones) and
    /// returns the delay until the next enabled event, or null when no interrupt is enabled.
    /// </summary>
    public TimeSpan? OnTimer()
    {
        long now = GuestTicks();
        AdvanceTo(now);
        return NextDue(now);
    }

    /// <summary>The chip's state as an immutable record (<see cref="RtcState"/>).</summary>
    public RtcState CaptureState() =>
        new(StateArray.Create<byte>(_cmos), _index, NmiDisabled, _offset, _processedUntil, _irqAsserted);

    private void LoadState(RtcState state)
    {
        state.Validate();
        state.Cmos.CopyTo(_cmos);
        _index = state.Index;
        NmiDisabled = state.NmiDisabled;
        _offset = state.ClockOffset;
        _processedUntil = state.EventsProcessedUntil;

        // The failed instance may have left the line elsewhere after the capture: drive it to the captured level.
        _irqAsserted = state.IrqAsserted;
        _irq.SetLevel(_irqAsserted);
    }

    private byte ReadCmos(int index)
    {
        switch (index)
        {
            case RegisterAIndex:
                return (byte)((_cmos[RegisterAIndex] & ~RegisterAUipBit) | (UpdateInProgress(GuestTicks()) ? RegisterAUipBit : 0));
            case RegisterCIndex:
                AdvanceTo(GuestTicks());
                byte flags = _cmos[RegisterCIndex];
                _cmos[RegisterCIndex] = 0;
                LowerIrq();
                return flags;
            case RegisterDIndex:
                return RegisterDVrtBit;
            default:
                if (IsClockRegister(index) && Running)
                {
                    return EncodeClockRegister(index, new DateTime(GuestTicks(), DateTimeKind.Utc));
                }

                return _cmos[index];
        }
    }

    private bool WriteCmos(int index, byte value)
    {
        switch (index)
        {
            case RegisterAIndex:
                // UIP is read-only; the rate and divider are the guest's.
                _cmos[RegisterAIndex] = (byte)(value & ~RegisterAUipBit);
                return true;
            case RegisterBIndex:
                WriteRegisterB(value);
                return true;
            case RegisterCIndex:
            case RegisterDIndex:
                // Read-only status registers: the write is dropped.
                return false;
            default:
                if (IsClockRegister(index))
                {
                    WriteClockRegister(index, value);
                    return true;
                }

                _cmos[index] = value;
                return false;
        }
    }

    private void WriteRegisterB(byte value)
    {
        bool wasRunning = Running;
        if ((value & RegisterBSetBit) != 0)
        {
            // Setting SET stops updates and, per the datasheet, clears UIE.
            value &= unchecked((byte)~RegisterBUieBit);
            if (wasRunning)
            {
                AdvanceTo(GuestTicks());
                FreezeClockRegisters();
            }

            _cmos[RegisterBIndex] = value;
        }
        else
        {
            _cmos[RegisterBIndex] = value;
            if (!wasRunning)
            {
                ApplyClockRegisters();
            }
        }

        UpdateIrq();
    }

    private void WriteClockRegister(int index, byte value)
    {
        if (!Running)
        {
            _cmos[index] = value;
            return;
        }

        // A write while running sets the clock at once (QEMU does the same).
        FreezeClockRegisters();
        _cmos[index] = value;
        ApplyClockRegisters();
    }

    private void FreezeClockRegisters()
    {
        var now = new DateTime(GuestTicks(), DateTimeKind.Utc);
        foreach (int index in ClockRegisters)
        {
            _cmos[index] = EncodeClockRegister(index, now);
        }
    }

    private void ApplyClockRegisters()
    {
        RtcTimeCodec codec = Codec;
        int century = codec.Decode(_cmos[CenturyIndex]);
        int year = (century * 100) + codec.Decode(_cmos[YearIndex]);
        try
        {
            // Out-of-range fields roll over as mktime would (month 13 → next January).
            DateTime set = new DateTime(Math.Clamp(year, 1, 9999), 1, 1, 0, 0, 0, DateTimeKind.Utc)
                .AddMonths(codec.Decode(_cmos[MonthIndex]) - 1)
                .AddDays(codec.Decode(_cmos[DayOfMonthIndex]) - 1)
                .AddHours(codec.DecodeHours(_cmos[HoursIndex]))
                .AddMinutes(codec.Decode(_cmos[MinutesIndex]))
                .AddSeconds(codec.Decode(_cmos[SecondsIndex]));
            _offset = set - _time.GetUtcNow().UtcDateTime;
        }
        catch (ArgumentOutOfRangeException)
        {
            // A date past year 9999: keep the previous clock; the registers still hold what was written.
        }

        _processedUntil = GuestTicks();
    }

    private RtcTimeCodec Codec => new(
        Binary: (_cmos[RegisterBIndex] & RegisterBBinaryBit) != 0,
        Hour24: (_cmos[RegisterBIndex] & RegisterB24HourBit) != 0);

    private static readonly int[] ClockRegisters =
        [SecondsIndex, MinutesIndex, HoursIndex, DayOfWeekIndex, DayOfMonthIndex, MonthIndex, YearIndex, CenturyIndex];

    private static bool IsClockRegister(int index) =>
        index is SecondsIndex or MinutesIndex or HoursIndex or DayOfWeekIndex or DayOfMonthIndex or MonthIndex or YearIndex or CenturyIndex;

    private byte EncodeClockRegister(int index, DateTime time)
    {
        RtcTimeCodec codec = Codec;
        return index switch
        {
            SecondsIndex => codec.Encode(time.Second),
            MinutesIndex => codec.Encode(time.Minute),
            HoursIndex => codec.EncodeHours(time.Hour),
            DayOfWeekIndex => codec.Encode((int)time.DayOfWeek + 1),
            DayOfMonthIndex => codec.Encode(time.Day),
            MonthIndex => codec.Encode(time.Month),
            YearIndex => codec.Encode(time.Year % 100),
            _ => codec.Encode(time.Year / 100),
        };
    }

    private long GuestTicks()
    {
        long ticks = _time.GetUtcNow().UtcTicks + _offset.Ticks;
        return Math.Clamp(ticks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks);
    }

    private bool UpdateInProgress(long now) =>
        Running && now % TimeSpan.TicksPerSecond >= TimeSpan.TicksPerSecond - UipHold.Ticks;

    /// <summary>Periodic interval in 32.768 kHz cycles, or 0 when the rate select is off.</summary>
    private long PeriodCycles()
    {
        int rate = _cmos[RegisterAIndex] & RegisterARateMask;
        if (rate == 0)
        {
            return 0;
        }

        // Rates 1 and 2 alias 8 and 9 (256 and 128 Hz) with the 32.768 kHz time base.
        if (rate <= RateSelectAliasLimit)
        {
            rate += RateSelectAliasShift;
        }

        return 1L << (rate - 1);
    }

    private static long Cycles(long ticks) => (long)((Int128)ticks * TimeBaseHz / TimeSpan.TicksPerSecond);

    private static long TicksForCycles(long cycles) =>
        (long)((((Int128)cycles * TimeSpan.TicksPerSecond) + TimeBaseHz - 1) / TimeBaseHz);

    private void AdvanceTo(long now)
    {
        long previous = _processedUntil;
        _processedUntil = now;
        if (now <= previous)
        {
            return;
        }

        // The divider chain keeps running while SET inhibits updates, so periodic flags still come.
        long period = PeriodCycles();
        if (period != 0 && Cycles(now) / period > Cycles(previous) / period)
        {
            _cmos[RegisterCIndex] |= RegisterCPfBit;
        }

        if (!Running)
        {
            UpdateIrq();
            return;
        }

        long previousSecond = previous / TimeSpan.TicksPerSecond;
        long nowSecond = now / TimeSpan.TicksPerSecond;
        if (nowSecond > previousSecond)
        {
            _cmos[RegisterCIndex] |= RegisterCUfBit;
            if (AlarmMatchesBetween(previousSecond, nowSecond))
            {
                _cmos[RegisterCIndex] |= RegisterCAfBit;
            }
        }

        UpdateIrq();
    }

    private bool AlarmMatchesBetween(long previousSecond, long nowSecond)
    {
        // Every valid alarm matches once a day, so a longer gap needs no more than a day's scan.
        long first = Math.Max(previousSecond + 1, nowSecond - SecondsPerDay + 1);
        for (long second = nowSecond; second >= first; second--)
        {
            if (AlarmMatches(new DateTime(second * TimeSpan.TicksPerSecond, DateTimeKind.Utc)))
            {
                return true;
            }
        }

        return false;
    }

    private bool AlarmMatches(DateTime time) =>
        AlarmFieldMatches(_cmos[SecondsAlarmIndex], EncodeClockRegister(SecondsIndex, time))
        && AlarmFieldMatches(_cmos[MinutesAlarmIndex], EncodeClockRegister(MinutesIndex, time))
        && AlarmFieldMatches(_cmos[HoursAlarmIndex], EncodeClockRegister(HoursIndex, time));

    private static bool AlarmFieldMatches(byte alarm, byte current) => alarm >= AlarmDontCareMin || alarm == current;

    private void UpdateIrq()
    {
        byte enables = (byte)(_cmos[RegisterBIndex] & (RegisterBPieBit | RegisterBAieBit | RegisterBUieBit));
        // PIE/AIE/UIE in register B sit at the same bit positions as PF/AF/UF in register C.
        bool pending = (_cmos[RegisterCIndex] & enables) != 0;
        if (pending && !_irqAsserted)
        {
            _cmos[RegisterCIndex] |= RegisterCIrqfBit;
            _irqAsserted = true;
            _irq.SetLevel(true);
        }
    }

    private void LowerIrq()
    {
        if (_irqAsserted)
        {
            _irqAsserted = false;
            _irq.SetLevel(false);
        }
    }

    private TimeSpan? NextDue(long now)
    {
        byte b = _cmos[RegisterBIndex];
        long? due = null;
        long period = PeriodCycles();
        if ((b & RegisterBPieBit) != 0 && period != 0)
        {
            due = TicksForCycles(((Cycles(now) / period) + 1) * period);
        }

        if (Running && (b & (RegisterBUieBit | RegisterBAieBit)) != 0)
        {
            long nextSecond = ((now / TimeSpan.TicksPerSecond) + 1) * TimeSpan.TicksPerSecond;
            due = due is long d ? Math.Min(d, nextSecond) : nextSecond;
        }

        return due is long at ? TimeSpan.FromTicks(Math.Max(0, at - now) + 1) : null;
    }

    private void WriteMemoryFields(CmosMemorySize memory)
    {
        WriteWord(BaseMemoryLowIndex, BaseMemoryKiB);

        ulong below = memory.BelowFourGiB;
        int extendedKiB = below > MiB ? (int)Math.Min((below - MiB) / KiB, SixteenBitMax) : 0;
        WriteWord(ExtendedMemoryLowIndex, extendedKiB);
        WriteWord(ExtendedMemoryCopyLowIndex, extendedKiB);

        ulong sixteenMiB = 16 * MiB;
        int above16 = below > sixteenMiB ? (int)Math.Min((below - sixteenMiB) / SixtyFourKiB, SixteenBitMax) : 0;
        WriteWord(MemoryAbove16MiBLowIndex, above16);

        ulong above4 = memory.AboveFourGiB / SixtyFourKiB;
        _cmos[MemoryAbove4GiBIndex] = (byte)above4;
        _cmos[MemoryAbove4GiBIndex + 1] = (byte)(above4 >> 8);
        _cmos[MemoryAbove4GiBIndex + 2] = (byte)(above4 >> 16);

        int sum = 0;
        for (int i = ChecksumFirstIndex; i <= ChecksumLastIndex; i++)
        {
            sum += _cmos[i];
        }

        _cmos[ChecksumHighIndex] = (byte)(sum >> 8);
        _cmos[ChecksumHighIndex + 1] = (byte)sum;
    }

    private void WriteWord(int lowIndex, int value)
    {
        _cmos[lowIndex] = (byte)value;
        _cmos[lowIndex + 1] = (byte)(value >> 8);
    }
}
