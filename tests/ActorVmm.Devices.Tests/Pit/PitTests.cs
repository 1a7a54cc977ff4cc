using ActorVmm.Devices.Pit;
using ActorVmm.Machine.Traps;
using ActorVmm.TestSupport;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;

namespace ActorVmm.Devices.Tests.Pit;

public sealed class PitTests
{
    private const ushort Channel0 = 0x40;
    private const ushort Channel2 = 0x42;
    private const ushort Control = 0x43;
    private const ushort PortB = 0x61;

    // Control words: channel << 6 | access << 4 | mode << 1 | bcd.
    private const byte Ch0LoHiMode2 = 0b00_11_010_0;
    private const byte Ch0LoHiMode0 = 0b00_11_000_0;
    private const byte Ch0LoOnlyMode2 = 0b00_01_010_0;
    private const byte Ch0LoHiMode2Bcd = 0b00_11_010_1;
    private const byte Ch2LoHiMode0 = 0b10_11_000_0;
    private const byte Ch2LoHiMode3 = 0b10_11_011_0;
    private const byte Ch0Latch = 0b00_00_000_0;
    private const byte ReadBackCountAndStatusCh0 = 0b11_00_001_0;
    private const byte ReadBackStatusOnlyCh0 = 0b11_10_001_0;

    private const ushort OneMillisecondCount = 1193;   // Linux's LATCH for HZ=1000
    private const ushort TenMillisecondCount = 11932;  // LATCH for HZ=100
    private const ushort BcdCount1000 = 0x1000;
    private const int BcdCount1000Clocks = 1000;
    private const int LowByteOnlyCount = 200;
    private const int ClocksElapsed = 100;
    private const int ByteShift = 8;
    private const byte ByteMask = 0xFF;
    private const int Rounds = 5;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly IrqLineProbe _irq0 = new(PitDevice.Irq);
    private readonly PitDevice _pit;
    private readonly DeviceBus _bus;

    public PitTests()
    {
        _pit = new PitDevice(_time, _irq0);
        _bus = new DeviceBus(_pit);
    }

    // Rounded up, so advancing by Clocks(n) moves the PIT at least n input clocks.
    private static TimeSpan Clocks(long clocks) =>
        TimeSpan.FromTicks(((clocks * TimeSpan.TicksPerSecond) + Pit8254.InputHz - 1) / Pit8254.InputHz);

    private void Program(ushort port, byte control, int count)
    {
        _bus.Out8(Control, control);
        _bus.Out8(port, (byte)(count & ByteMask));
        _bus.Out8(port, (byte)(count >> ByteShift));
    }

    private int ReadCount16(ushort port) => _bus.In8(port) | (_bus.In8(port) << ByteShift);

    [Fact]
    public void Mode2_rate_generator_pulses_IRQ0_once_per_period_on_the_fake_clock()
    {
        Program(Channel0, Ch0LoHiMode2, OneMillisecondCount);

        for (int i = 0; i < Rounds; i++)
        {
            TimeSpan? due = _pit.OnTimer();
            Assert.NotNull(due);
            Assert.InRange(due.Value, Clocks(OneMillisecondCount - 1), Clocks(OneMillisecondCount + 1));
            _time.Advance(due.Value);
        }

        _pit.OnTimer();
        Assert.Equal(Rounds, _irq0.Pulses);
    }

    [Fact]
    public void Nothing_is_due_before_the_guest_programs_channel0()
    {
        Assert.Null(_pit.OnTimer());
        Assert.Equal(0, _irq0.Pulses);
    }

    [Fact]
    public void Mode0_fires_once_at_terminal_count_and_then_schedules_nothing()
    {
        Program(Channel0, Ch0LoHiMode0, TenMillisecondCount);

        _time.Advance(Clocks(TenMillisecondCount - 1));
        _pit.OnTimer();
        Assert.Equal(0, _irq0.Pulses);

        _time.Advance(Clocks(ClocksElapsed));
        Assert.Null(_pit.OnTimer());
        Assert.Equal(1, _irq0.Pulses);
    }

    [Fact]
    public void Timer_that_ran_late_delivers_one_edge_and_counts_the_coalesced_periods()
    {
        Program(Channel0, Ch0LoHiMode2, OneMillisecondCount);

        _time.Advance(Clocks(OneMillisecondCount * Rounds));
        _pit.OnTimer();

        Assert.Equal(1, _irq0.Pulses);
        Assert.Equal(Rounds - 1, _pit.Inspect(p => p.CoalescedIrqs));
    }

    [Fact]
    public void Counter_counts_down_at_the_PIT_clock_rate()
    {
        Program(Channel0, Ch0LoHiMode2, TenMillisecondCount);

        _time.Advance(Clocks(ClocksElapsed));

        Assert.InRange(ReadCount16(Channel0), TenMillisecondCount - ClocksElapsed - 1, TenMillisecondCount - ClocksElapsed);
    }

    [Fact]
    public void Latch_command_freezes_the_count_until_both_bytes_are_read()
    {
        Program(Channel0, Ch0LoHiMode2, TenMillisecondCount);
        _time.Advance(Clocks(ClocksElapsed));

        _bus.Out8(Control, Ch0Latch);
        int lsb = _bus.In8(Channel0);
        _time.Advance(Clocks(ClocksElapsed));
        int msb = _bus.In8(Channel0);
        int latched = lsb | (msb << ByteShift);

        Assert.InRange(latched, TenMillisecondCount - ClocksElapsed - 1, TenMillisecondCount - ClocksElapsed);
        Assert.True(ReadCount16(Channel0) < latched);
    }

    [Fact]
    public void Read_back_latches_status_then_count()
    {
        Program(Channel0, Ch0LoHiMode2, TenMillisecondCount);

        _bus.Out8(Control, ReadBackCountAndStatusCh0);
        byte status = _bus.In8(Channel0);
        int count = ReadCount16(Channel0);

        const int Mode2 = 2;
        const int AccessLoHi = 3;
        Assert.Equal(Mode2, (status >> PitChannel.StatusModeShift) & 0b111);
        Assert.Equal(AccessLoHi, (status >> PitChannel.StatusAccessShift) & 0b11);
        Assert.Equal(0, status & PitChannel.StatusNullCountBit);
        Assert.Equal(TenMillisecondCount, count);
    }

    [Fact]
    public void Read_back_status_reports_OUT_high_after_mode0_terminal_count()
    {
        Program(Channel0, Ch0LoHiMode0, OneMillisecondCount);
        _bus.Out8(Control, ReadBackStatusOnlyCh0);
        Assert.Equal(0, _bus.In8(Channel0) & PitChannel.StatusOutBit);

        _time.Advance(Clocks(OneMillisecondCount + 1));
        _bus.Out8(Control, ReadBackStatusOnlyCh0);
        Assert.Equal(PitChannel.StatusOutBit, _bus.In8(Channel0) & PitChannel.StatusOutBit);
    }

    [Fact]
    public void Status_after_a_control_word_reports_null_count_until_the_count_is_written()
    {
        _bus.Out8(Control, Ch0LoHiMode2);
        _bus.Out8(Control, ReadBackStatusOnlyCh0);

        Assert.Equal(PitChannel.StatusNullCountBit, _bus.In8(Channel0) & PitChannel.StatusNullCountBit);
    }

    [Fact]
    public void Lobyte_only_access_loads_the_count_with_a_single_write()
    {
        _bus.Out8(Control, Ch0LoOnlyMode2);
        _bus.Out8(Channel0, LowByteOnlyCount);

        Assert.True(_pit.Inspect(p => p.Channels[0].CountLoaded));
        Assert.Equal(LowByteOnlyCount, _pit.Inspect(p => p.Channels[0].InitialCount));
        Assert.Equal(LowByteOnlyCount, _bus.In8(Channel0));
    }

    [Fact]
    public void BCD_count_is_decoded_and_read_back_in_BCD()
    {
        Program(Channel0, Ch0LoHiMode2Bcd, BcdCount1000);

        Assert.Equal(BcdCount1000Clocks, _pit.Inspect(p => p.Channels[0].InitialCount));
        Assert.Equal(BcdCount1000, ReadCount16(Channel0));
    }

    [Fact]
    public void Linux_calibration_sees_OUT2_on_port_61_after_the_mode0_count_with_gate_high()
    {
        byte portB = _bus.In8(PortB);
        _bus.Out8(PortB, (byte)((portB & ~Pit8254.PortBSpeakerBit) | Pit8254.PortBGate2Bit));
        Program(Channel2, Ch2LoHiMode0, TenMillisecondCount);

        Assert.Equal(0, _bus.In8(PortB) & Pit8254.PortBOut2Bit);
        _time.Advance(Clocks(TenMillisecondCount + 1));
        Assert.Equal(Pit8254.PortBOut2Bit, _bus.In8(PortB) & Pit8254.PortBOut2Bit);
        Assert.Equal(Pit8254.PortBGate2Bit, _bus.In8(PortB) & Pit8254.PortBGate2Bit);
    }

    [Fact]
    public void Mode3_square_wave_on_channel2_is_high_for_the_first_half_period()
    {
        _bus.Out8(PortB, Pit8254.PortBGate2Bit | Pit8254.PortBSpeakerBit);
        Program(Channel2, Ch2LoHiMode3, TenMillisecondCount);

        _time.Advance(Clocks(TenMillisecondCount / 4));
        Assert.Equal(Pit8254.PortBOut2Bit, _bus.In8(PortB) & Pit8254.PortBOut2Bit);
        _time.Advance(Clocks(TenMillisecondCount / 2));
        Assert.Equal(0, _bus.In8(PortB) & Pit8254.PortBOut2Bit);
        Assert.True(_pit.Inspect(p => p.SpeakerOn));
    }

    [Fact]
    public void Refresh_bit_of_port_61_toggles_as_time_passes()
    {
        byte first = (byte)(_bus.In8(PortB) & Pit8254.PortBRefreshBit);
        _time.Advance(Clocks(Pit8254.RefreshClocks));

        Assert.NotEqual(first, _bus.In8(PortB) & Pit8254.PortBRefreshBit);
    }

    [Fact]
    public void Reprogramming_channel0_raises_ScheduleChanged_so_the_actor_rearms()
    {
        int changes = 0;
        _pit.ScheduleChanged += () => changes++;

        Program(Channel0, Ch0LoHiMode2, OneMillisecondCount);

        Assert.Equal(2, changes); // the control word and the completed count
    }

    [Fact]
    public void Tiny_periodic_count_is_rate_limited_to_the_minimum_irq_interval()
    {
        const int TinyCount = 2;
        Program(Channel0, Ch0LoHiMode2, TinyCount);
        _time.Advance(Clocks(TinyCount));
        _pit.OnTimer();

        TimeSpan? due = _pit.OnTimer();

        Assert.NotNull(due);
        Assert.True(due.Value >= Clocks(Pit8254.MinimumIrqIntervalClocks - TinyCount));
    }

    [Fact]
    public void Control_register_reads_as_an_empty_bus_and_a_word_read_spans_two_counters()
    {
        const int WordSize = 2;
        const int UnprogrammedChannel1Lsb = 0; // power-on count 65536 reads back as 0x0000
        _bus.Out8(Control, Ch0LoOnlyMode2);
        _bus.Out8(Channel0, LowByteOnlyCount);

        ulong word = _bus.Read(TrapBus.Pio, Channel0, WordSize);

        Assert.Equal(DispatchOutcome.Handled, _bus.LastOutcome);
        Assert.Equal((ulong)(LowByteOnlyCount | (UnprogrammedChannel1Lsb << ByteShift)), word);
        Assert.Equal(ByteLanesEmpty, _bus.In8(Control));
    }

    private const byte ByteLanesEmpty = ActorVmm.Devices.ByteLanes.EmptyBus;

    [Fact]
    public void Reset_stops_channel0_and_returns_gate2_low()
    {
        Program(Channel0, Ch0LoHiMode2, OneMillisecondCount);
        _bus.Out8(PortB, Pit8254.PortBGate2Bit);

        _pit.Reset();

        Assert.Null(_pit.OnTimer());
        Assert.Equal(0, _bus.In8(PortB) & Pit8254.PortBGate2Bit);
    }

    [Property]
    public void Any_guest_access_sequence_with_time_passing_never_faults_the_device(byte[] script)
    {
        ushort[] ports = [Channel0, Channel0 + 1, Channel2, Control, PortB];
        int[] sizes = [1, 2, 4];
        for (int i = 0; i + 2 < script.Length; i += 3)
        {
            ushort port = ports[script[i] % ports.Length];
            int size = sizes[script[i + 1] % sizes.Length];
            if ((script[i + 1] & 0x80) != 0)
            {
                _bus.Write(TrapBus.Pio, port, size, script[i + 2]);
            }
            else
            {
                _bus.Read(TrapBus.Pio, port, size);
            }

            Assert.NotEqual(DispatchOutcome.Faulted, _bus.LastOutcome);
            _time.Advance(Clocks(script[i + 2]));
            TimeSpan? due = _pit.OnTimer();
            Assert.True(due is null || due.Value > TimeSpan.Zero);
        }
    }
}
