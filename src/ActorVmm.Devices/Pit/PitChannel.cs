namespace ActorVmm.Devices.Pit;

/// <summary>
/// One 8254 counter. Time is a count of PIT input clocks (1.193182 MHz); the counter's value and
/// OUT level are computed from the clock at which it was loaded, so nothing ticks in software.
/// </summary>
public sealed class PitChannel
{
    /// <summary>Largest binary count: a written 0 means 65536.</summary>
    public const int BinaryModulus = 0x1_0000;

    /// <summary>Largest BCD count: a written 0 means 10000.</summary>
    public const int BcdModulus = 10_000;

    /// <summary>Status byte bit 7: the OUT pin level.</summary>
    public const byte StatusOutBit = 0b1000_0000;

    /// <summary>Status byte bit 6: null count (a count was written but not yet loaded into the counter).</summary>
    public const byte StatusNullCountBit = 0b0100_0000;

    /// <summary>Status byte bits 5–4: the read/write access mode.</summary>
    public const int StatusAccessShift = 4;

    /// <summary>Status byte bits 3–1: the counting mode.</summary>
    public const int StatusModeShift = 1;

    /// <summary>Status byte bit 0: BCD counting.</summary>
    public const byte StatusBcdBit = 0b0000_0001;

    /// <summary>The highest counting mode (5, hardware-triggered strobe); 6 and 7 alias 2 and 3.</summary>
    public const int LastMode = 5;

    private PitByteState _readState = PitByteState.Word0;
    private PitByteState _writeState = PitByteState.Word0;
    private PitByteState _latchState = PitByteState.None;
    private byte _writeLatch;
    private ushort _latchedCount;
    private byte _latchedStatus;
    private bool _statusLatched;
    private bool _triggered;

    /// <summary>Creates a channel with its gate input level (channels 0 and 1 are tied high on a PC).</summary>
    public PitChannel(bool gate)
    {
        Gate = gate;
    }

    /// <summary>Counting mode 0–5 (6 and 7 alias 2 and 3).</summary>
    public int Mode { get; private set; }

    /// <summary>Access mode from the control word: 1 LSB only, 2 MSB only, 3 LSB then MSB.</summary>
    public int Access { get; private set; } = (int)PitByteState.Word0;

    /// <summary>BCD counting selected.</summary>
    public bool Bcd { get; private set; }

    /// <summary>The initial count in binary (1 … 65536, or 1 … 10000 in BCD).</summary>
    public int InitialCount { get; private set; } = BinaryModulus;

    /// <summary>True once a full count has been written since the last control word.</summary>
    public bool CountLoaded { get; private set; }

    /// <summary>The clock at which counting (re)started.</summary>
    public long LoadTick { get; private set; }

    /// <summary>The GATE input level.</summary>
    public bool Gate { get; private set; }

    /// <summary>The counter's state as an immutable record.</summary>
    public PitChannelState CaptureState() => new(
        Mode, Access, Bcd, InitialCount, CountLoaded, LoadTick, Gate,
        _readState, _writeState, _latchState, _writeLatch, _latchedCount, _latchedStatus, _statusLatched, _triggered);

    /// <summary>Takes over a validated state (<see cref="PitState.Validate"/>).</summary>
    internal void LoadState(PitChannelState state)
    {
        Mode = state.Mode;
        Access = state.Access;
        Bcd = state.Bcd;
        InitialCount = state.InitialCount;
        CountLoaded = state.CountLoaded;
        LoadTick = state.LoadTick;
        Gate = state.Gate;
        _readState = state.ReadState;
        _writeState = state.WriteState;
        _latchState = state.LatchState;
        _writeLatch = state.WriteLatch;
        _latchedCount = state.LatchedCount;
        _latchedStatus = state.LatchedStatus;
        _statusLatched = state.StatusLatched;
        _triggered = state.Triggered;
    }

    /// <summary>Power-on state.</summary>
    public void Reset(bool gate)
    {
        Mode = 0;
        Access = (int)PitByteState.Word0;
        Bcd = false;
        InitialCount = BinaryModulus;
        CountLoaded = false;
        LoadTick = 0;
        Gate = gate;
        _readState = PitByteState.Word0;
        _writeState = PitByteState.Word0;
        _latchState = PitByteState.None;
        _writeLatch = 0;
        _latchedCount = 0;
        _latchedStatus = 0;
        _statusLatched = false;
        _triggered = false;
    }

    /// <summary>A control word for this channel with a non-zero access field: mode, access, BCD.</summary>
    public void Program(int access, int mode, bool bcd)
    {
        Access = access;
        Mode = mode > LastMode ? mode - 4 : mode;
        Bcd = bcd;
        _readState = (PitByteState)access;
        _writeState = (PitByteState)access;
        CountLoaded = false;
        _triggered = false;
    }

    /// <summary>Counter latch command: freezes the current count for the next read(s); ignored while a latch is unread.</summary>
    public void LatchCount(long now)
    {
        if (_latchState != PitByteState.None)
        {
            return;
        }

        _latchedCount = (ushort)ReadableCount(now);
        _latchState = (PitByteState)Access;
    }

    /// <summary>Read-back status latch; ignored while a status latch is unread.</summary>
    public void LatchStatus(long now)
    {
        if (_statusLatched)
        {
            return;
        }

        _latchedStatus = (byte)((Out(now) ? StatusOutBit : 0)
            | (CountLoaded ? 0 : StatusNullCountBit)
            | (Access << StatusAccessShift)
            | (Mode << StatusModeShift)
            | (Bcd ? StatusBcdBit : 0));
        _statusLatched = true;
    }

    /// <summary>A guest read of the counter port: latched status first, then a latched count, else the live count.</summary>
    public byte Read(long now)
    {
        if (_statusLatched)
        {
            _statusLatched = false;
            return _latchedStatus;
        }

        switch (_latchState)
        {
            case PitByteState.Lsb:
                _latchState = PitByteState.None;
                return (byte)_latchedCount;
            case PitByteState.Msb:
                _latchState = PitByteState.None;
                return (byte)(_latchedCount >> 8);
            case PitByteState.Word0:
                _latchState = PitByteState.Msb;
                return (byte)_latchedCount;
            default:
                break;
        }

        int count = ReadableCount(now);
        switch (_readState)
        {
            case PitByteState.Msb:
                return (byte)(count >> 8);
            case PitByteState.Word0:
                _readState = PitByteState.Word1;
                return (byte)count;
            case PitByteState.Word1:
                _readState = PitByteState.Word0;
                return (byte)(count >> 8);
            default:
                return (byte)count;
        }
    }

    /// <summary>A guest write of the counter port; returns true when a full count was loaded (counting restarts).</summary>
    public bool Write(byte value, long now)
    {
        switch (_writeState)
        {
            case PitByteState.Msb:
                Load(value << 8, now);
                return true;
            case PitByteState.Word0:
                _writeLatch = value;
                _writeState = PitByteState.Word1;
                return false;
            case PitByteState.Word1:
                _writeState = PitByteState.Word0;
                Load(_writeLatch | (value << 8), now);
                return true;
            default:
                Load(value, now);
                return true;
        }
    }

    /// <summary>Sets the GATE level; a rising edge (re)triggers modes 1, 2, 3 and 5. Returns true when counting restarted.</summary>
    public bool SetGate(bool level, long now)
    {
        bool rising = level && !Gate;
        Gate = level;
        if (!rising || !CountLoaded || Mode is 0 or 4)
        {
            return false;
        }

        LoadTick = now;
        _triggered = true;
        return true;
    }

    /// <summary>The OUT pin at clock <paramref name="now"/>.</summary>
    public bool Out(long now)
    {
        if (!CountLoaded)
        {
            // After a control word OUT is low in mode 0 and high in every other mode.
            return Mode != 0;
        }

        long elapsed = Math.Max(0, now - LoadTick);
        int count = InitialCount;
        switch (Mode)
        {
            case 0:
                return elapsed >= count;
            case 1:
                return !_triggered || elapsed >= count;
            case 2:
                // High, low for the one clock at count 1, reloaded at 0.
                return !Gate || elapsed % count != count - 1;
            case 3:
                // Square wave: high for the first half (rounded up) of every period.
                return !Gate || elapsed % count < (count + 1) / 2;
            case 4:
                return elapsed != count;
            default:
                return !_triggered || elapsed != count;
        }
    }

    /// <summary>The first clock after <paramref name="after"/> at which OUT rises, or null if it never will.</summary>
    public long? NextRisingEdge(long after)
    {
        if (!CountLoaded)
        {
            return null;
        }

        long count = InitialCount;
        long? edge = Mode switch
        {
            0 => LoadTick + count,
            1 => _triggered ? LoadTick + count : null,
            2 or 3 => Gate ? LoadTick + ((Math.Max(0, after - LoadTick) / count) + 1) * count : null,
            4 => LoadTick + count + 1,
            _ => _triggered ? LoadTick + count + 1 : null,
        };
        return edge > after ? edge : null;
    }

    private void Load(int raw, long now)
    {
        int count = Bcd ? FromBcd(raw) : raw;
        int modulus = Bcd ? BcdModulus : BinaryModulus;
        InitialCount = count == 0 ? modulus : count;
        LoadTick = now;
        CountLoaded = true;
        _triggered = false;
    }

    private int ReadableCount(long now)
    {
        if (!CountLoaded)
        {
            return ToRegister(InitialCount);
        }

        long elapsed = Math.Max(0, now - LoadTick);
        long count = InitialCount;
        int modulus = Bcd ? BcdModulus : BinaryModulus;
        long value = Mode switch
        {
            2 => count - (elapsed % count),
            3 => count - ((2 * elapsed) % count),
            _ => ((count - elapsed) % modulus + modulus) % modulus,
        };
        return ToRegister((int)value);
    }

    private int ToRegister(int value)
    {
        if (!Bcd)
        {
            return value & 0xFFFF;
        }

        value %= BcdModulus;
        return (value / 1000 << 12) | (value / 100 % 10 << 8) | (value / 10 % 10 << 4) | (value % 10);
    }

    private static int FromBcd(int raw)
    {
        // Invalid BCD nibbles (A–F) are taken at face value, as the counter's decade logic would.
        return ((raw >> 12) & 0xF) * 1000 + ((raw >> 8) & 0xF) * 100 + ((raw >> 4) & 0xF) * 10 + (raw & 0xF);
    }
}
