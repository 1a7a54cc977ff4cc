using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Pit;

/// <summary>
/// The Intel 8254 programmable interval timer and the PC's port B (0x61) as a pure state machine.
/// Time comes from the injected <see cref="TimeProvider"/> (its monotonic timestamp) converted to
/// 1.193182 MHz input clocks; channel 0's OUT drives IRQ 0 through the injected line when the
/// owner calls <see cref="OnTimer"/>, which also says when to call it next. No threads, no lock.
/// </summary>
public sealed class Pit8254
{
    /// <summary>The PIT input clock in Hz.</summary>
    public const long InputHz = 1_193_182;

    /// <summary>Offset of channel 0's counter port (0x40).</summary>
    public const int Channel0Offset = 0;

    /// <summary>Offset of channel 2's counter port (0x42).</summary>
    public const int Channel2Offset = 2;

    /// <summary>Offset of the write-only mode/command register (0x43).</summary>
    public const int ControlOffset = 3;

    /// <summary>Ports in the counter block (0x40–0x43).</summary>
    public const int BlockLength = 4;

    /// <summary>Channels on the chip.</summary>
    public const int ChannelCount = 3;

    /// <summary>Control word bits 7–6: channel select (3 = read-back command).</summary>
    public const int ControlChannelShift = 6;

    /// <summary>Control word channel field value selecting the read-back command.</summary>
    public const int ControlReadBack = 3;

    /// <summary>Control word bits 5–4: access mode (0 = counter latch command).</summary>
    public const int ControlAccessShift = 4;

    /// <summary>Control word bits 3–1: counting mode.</summary>
    public const int ControlModeShift = 1;

    /// <summary>Control word bit 0: BCD counting.</summary>
    public const byte ControlBcdBit = 0b0000_0001;

    /// <summary>Read-back bit 5, active low: latch the counts of the selected channels.</summary>
    public const byte ReadBackNoCountBit = 0b0010_0000;

    /// <summary>Read-back bit 4, active low: latch the status of the selected channels.</summary>
    public const byte ReadBackNoStatusBit = 0b0001_0000;

    /// <summary>Read-back bits 3–1: channel 2, 1, 0 select (bit 1 = channel 0).</summary>
    public const int ReadBackChannelShift = 1;

    /// <summary>Port B bit 0: channel 2 GATE.</summary>
    public const byte PortBGate2Bit = 0b0000_0001;

    /// <summary>Port B bit 1: speaker data enable.</summary>
    public const byte PortBSpeakerBit = 0b0000_0010;

    /// <summary>Port B bits 3–0 are writable (gate, speaker, parity and channel-check enables).</summary>
    public const byte PortBWritableMask = 0b0000_1111;

    /// <summary>Port B bit 4: DRAM refresh toggle, flips every 15.085 µs.</summary>
    public const byte PortBRefreshBit = 0b0001_0000;

    /// <summary>Port B bit 5: channel 2's OUT level.</summary>
    public const byte PortBOut2Bit = 0b0010_0000;

    /// <summary>PIT clocks per refresh half-period (15.085 µs ≈ 18 clocks).</summary>
    public const long RefreshClocks = 18;

    /// <summary>
    /// Shortest interval between two IRQ 0 edges (about 100 µs): a guest that programs a tiny
    /// periodic count cannot turn the host timer into a busy loop.
    /// </summary>
    public const long MinimumIrqIntervalClocks = 120;

    private const int IrqChannel = 0;
    private const int SpeakerChannel = 2;

    private readonly TimeProvider _time;
    private readonly IInterruptLine _irq0;
    private readonly long _origin;
    private readonly PitChannel[] _channels = [new(gate: true), new(gate: true), new(gate: false)];
    private byte _portB;
    private long _irqProcessedUntil;
    private long? _lastIrq;

    /// <summary>
    /// Creates the timer at power-on, or rebuilt from <paramref name="state"/> (counting on from its origin on
    /// <paramref name="time"/>); <paramref name="irq0"/> receives channel 0's edges.
    /// </summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the chip can hold.</exception>
    public Pit8254(TimeProvider time, IInterruptLine irq0, PitState? state = null)
    {
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _irq0 = irq0 ?? throw new ArgumentNullException(nameof(irq0));
        if (state is null)
        {
            _origin = time.GetTimestamp();
            return;
        }

        state.Validate();
        _origin = state.OriginTimestamp;
        for (int channel = 0; channel < ChannelCount; channel++)
        {
            _channels[channel].LoadState(state.Channels[channel]);
        }

        _portB = state.PortB;
        _irqProcessedUntil = state.IrqDeliveredUntil;
        _lastIrq = state.LastIrqClock;
    }

    /// <summary>IRQ 0 edges delivered so far.</summary>
    public long IrqCount { get; private set; }

    /// <summary>Channel 0 periods that elapsed without their own edge (the host timer ran late); the PIC would have merged them anyway.</summary>
    public long CoalescedIrqs { get; private set; }

    /// <summary>The channel states (read-only inspection for tests and diagnostics).</summary>
    public IReadOnlyList<PitChannel> Channels => _channels;

    /// <summary>PIT input clocks since the device was created, from the injected clock.</summary>
    public long NowClocks()
    {
        Int128 elapsed = _time.GetTimestamp() - _origin;
        return (long)(elapsed * InputHz / _time.TimestampFrequency);
    }

    /// <summary>The chip's state as an immutable record (<see cref="PitState"/>).</summary>
    public PitState CaptureState() => new(
        _origin,
        [.. _channels.Select(channel => channel.CaptureState())],
        _portB,
        _irqProcessedUntil,
        _lastIrq);

    /// <summary>Power-on state (channel 2's gate follows port B, which resets to 0).</summary>
    public void Reset()
    {
        _channels[0].Reset(gate: true);
        _channels[1].Reset(gate: true);
        _channels[2].Reset(gate: false);
        _portB = 0;
        _irqProcessedUntil = NowClocks();
        _lastIrq = null;
    }

    /// <summary>A guest read at offset 0–3 of the counter block. The control register reads as an empty bus.</summary>
    public byte Read(int offset) =>
        (uint)offset < ChannelCount ? _channels[offset].Read(NowClocks()) : ByteLanes.EmptyBus;

    /// <summary>A guest write at offset 0–3; returns true when channel 0's schedule changed (re-arm the timer).</summary>
    public bool Write(int offset, byte value)
    {
        long now = NowClocks();
        if ((uint)offset < ChannelCount)
        {
            bool loaded = _channels[offset].Write(value, now);
            return offset == IrqChannel && loaded && RestartIrqTracking(now);
        }

        if (offset != ControlOffset)
        {
            return false;
        }

        int channel = value >> ControlChannelShift;
        if (channel == ControlReadBack)
        {
            ReadBack(value, now);
            return false;
        }

        int access = (value >> ControlAccessShift) & 0b11;
        if (access == 0)
        {
            _channels[channel].LatchCount(now);
            return false;
        }

        _channels[channel].Program(access, (value >> ControlModeShift) & 0b111, (value & ControlBcdBit) != 0);
        return channel == IrqChannel && RestartIrqTracking(now);
    }

    /// <summary>A guest read of port B (0x61).</summary>
    public byte ReadPortB()
    {
        long now = NowClocks();
        int value = _portB
            | ((now / RefreshClocks & 1) != 0 ? PortBRefreshBit : 0)
            | (_channels[SpeakerChannel].Out(now) ? PortBOut2Bit : 0);
        return (byte)value;
    }

    /// <summary>A guest write of port B (0x61): bit 0 gates channel 2, bit 1 enables the speaker; read-only bits are ignored.</summary>
    public void WritePortB(byte value)
    {
        _portB = (byte)(value & PortBWritableMask);
        _channels[SpeakerChannel].SetGate((value & PortBGate2Bit) != 0, NowClocks());
    }

    /// <summary>True while port B enables the speaker and channel 2's gate (the tone is not played; this is the state).</summary>
    public bool SpeakerOn => (_portB & (PortBGate2Bit | PortBSpeakerBit)) == (PortBGate2Bit | PortBSpeakerBit);

    /// <summary>
    /// Delivers channel 0's due IRQ 0 edge (one pulse, however many periods passed) and returns
    /// how long until the next one is due, or null when channel 0 will not raise another.
    /// </summary>
    public TimeSpan? OnTimer()
    {
        long now = NowClocks();
        PitChannel channel = _channels[IrqChannel];
        long? due = channel.NextRisingEdge(_irqProcessedUntil);
        if (due is long edge && edge <= now)
        {
            long period = channel.Mode is 2 or 3 ? channel.InitialCount : 0;
            if (period > 0)
            {
                CoalescedIrqs += (now - edge) / period;
            }

            _irq0.Pulse();
            IrqCount++;
            _lastIrq = now;
            _irqProcessedUntil = now;
        }

        long earliest = _lastIrq is long last ? Math.Max(now, last + MinimumIrqIntervalClocks - 1) : now;
        long? next = channel.NextRisingEdge(earliest);
        return next is long nextEdge ? DelayUntil(nextEdge) : null;
    }

    /// <summary>The time until PIT clock <paramref name="clock"/> (rounded up so the edge is due when the timer fires).</summary>
    public TimeSpan DelayUntil(long clock)
    {
        Int128 dueTimestamp = _origin + (((Int128)clock * _time.TimestampFrequency) + InputHz - 1) / InputHz;
        long remaining = (long)Int128.Max(0, dueTimestamp - _time.GetTimestamp());
        return TimeSpan.FromTicks((long)((Int128)remaining * TimeSpan.TicksPerSecond / _time.TimestampFrequency) + 1);
    }

    private bool RestartIrqTracking(long now)
    {
        _irqProcessedUntil = now;
        return true;
    }

    private void ReadBack(byte value, long now)
    {
        for (int channel = 0; channel < ChannelCount; channel++)
        {
            if ((value & (1 << (channel + ReadBackChannelShift))) == 0)
            {
                continue;
            }

            if ((value & ReadBackNoCountBit) == 0)
            {
                _channels[channel].LatchCount(now);
            }

            if ((value & ReadBackNoStatusBit) == 0)
            {
                _channels[channel].LatchStatus(now);
            }
        }
    }
}
