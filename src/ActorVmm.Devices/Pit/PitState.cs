namespace ActorVmm.Devices.Pit;

/// <summary>Which byte of a 16-bit count a counter port access handles next (the 8254's read/write flip-flops).</summary>
public enum PitByteState
{
    /// <summary>No latched count waiting (latch flip-flop only).</summary>
    None = 0,

    /// <summary>Access mode 1: the low byte only.</summary>
    Lsb = 1,

    /// <summary>Access mode 2 (or the second half of a latched word): the high byte.</summary>
    Msb = 2,

    /// <summary>Access mode 3, low byte next.</summary>
    Word0 = 3,

    /// <summary>Access mode 3, high byte next.</summary>
    Word1 = 4,
}

/// <summary>
/// The 8254's guest-visible state with port B. Time is kept against the injected clock: every clock count is PIT
/// input clocks since <see cref="OriginTimestamp"/> (a timestamp of that clock), so a timer rebuilt on the same
/// clock keeps counting from where the old one was and delivers IRQ 0 edges on the same schedule. The ports and
/// the IRQ line are wiring, not state.
/// </summary>
/// <param name="OriginTimestamp">The injected clock's timestamp at which PIT clock 0 was.</param>
/// <param name="Channels">Channels 0, 1 and 2.</param>
/// <param name="PortB">Port B's writable bits (gate 2, speaker, parity and channel-check enables).</param>
/// <param name="IrqDeliveredUntil">PIT clock up to which channel 0's edges were delivered on IRQ 0.</param>
/// <param name="LastIrqClock">PIT clock of the last IRQ 0 edge (spacing edges at least the minimum interval apart), or null before the first.</param>
public sealed record PitState(
    long OriginTimestamp,
    StateArray<PitChannelState> Channels,
    byte PortB,
    long IrqDeliveredUntil,
    long? LastIrqClock) : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        Require(Channels.Length == Pit8254.ChannelCount, $"{Channels.Length} channels, not {Pit8254.ChannelCount}");
        Require((PortB & ~Pit8254.PortBWritableMask) == 0, $"port B 0x{PortB:X2} holds read-only bits");
        Require(IrqDeliveredUntil >= 0, $"IRQ 0 delivered until clock {IrqDeliveredUntil}, before the origin");
        Require(LastIrqClock is null or >= 0, $"last IRQ 0 at clock {LastIrqClock}, before the origin");
        for (int channel = 0; channel < Pit8254.ChannelCount; channel++)
        {
            ValidateChannel(channel, Channels[channel]);
        }

        // Channels 0 and 1 have their gates tied high on a PC; channel 2's gate is port B bit 0.
        Require(Channels[0].Gate && Channels[1].Gate, "channel 0 or 1 has its gate low, but both are tied high");
        Require(Channels[2].Gate == ((PortB & Pit8254.PortBGate2Bit) != 0), "channel 2's gate disagrees with port B bit 0");
    }

    private void ValidateChannel(int channel, PitChannelState? state)
    {
        Require(state is not null, $"channel {channel} is missing");
        var (mode, access) = (state!.Mode, state.Access);
        Require(mode is >= 0 and <= PitChannel.LastMode, $"channel {channel} mode {mode} is not 0..{PitChannel.LastMode}");
        Require(access is >= (int)PitByteState.Lsb and <= (int)PitByteState.Word0, $"channel {channel} access mode {access} is not 1..3");
        Require(
            state.InitialCount is >= 1 and <= PitChannel.BinaryModulus,
            $"channel {channel} count {state.InitialCount} is not 1..{PitChannel.BinaryModulus}");
        Require(state.LoadTick >= 0, $"channel {channel} started counting at clock {state.LoadTick}, before the origin");
        Require(FollowsAccess(state.ReadState, access), $"channel {channel} read flip-flop {state.ReadState} does not fit access mode {access}");
        Require(FollowsAccess(state.WriteState, access), $"channel {channel} write flip-flop {state.WriteState} does not fit access mode {access}");
        Require(
            state.LatchState is PitByteState.None or PitByteState.Lsb or PitByteState.Msb or PitByteState.Word0,
            $"channel {channel} latch flip-flop {state.LatchState} is not a latch state");
        Require(!state.Triggered || (state.CountLoaded && mode is not (0 or 4)), $"channel {channel} is gate-triggered without a count or in mode {mode}");
        if (state.StatusLatched)
        {
            int latchedAccess = (state.LatchedStatus >> PitChannel.StatusAccessShift) & 0b11;
            int latchedMode = (state.LatchedStatus >> PitChannel.StatusModeShift) & 0b111;
            Require(latchedAccess != 0 && latchedMode <= PitChannel.LastMode, $"channel {channel} latched status 0x{state.LatchedStatus:X2} names no access or mode");
        }
    }

    // Mode 3 toggles between Word0 and Word1; modes 1 and 2 stay on their byte.
    private static bool FollowsAccess(PitByteState state, int access) =>
        access == (int)PitByteState.Word0 ? state is PitByteState.Word0 or PitByteState.Word1 : (int)state == access;
}

/// <summary>One 8254 counter's state.</summary>
/// <param name="Mode">Counting mode 0–5.</param>
/// <param name="Access">Access mode from the control word: 1 LSB, 2 MSB, 3 LSB then MSB.</param>
/// <param name="Bcd">BCD counting.</param>
/// <param name="InitialCount">The count loaded (1 … 65536).</param>
/// <param name="CountLoaded">A full count was written since the last control word.</param>
/// <param name="LoadTick">PIT clock at which counting (re)started.</param>
/// <param name="Gate">The GATE input level.</param>
/// <param name="ReadState">The read flip-flop.</param>
/// <param name="WriteState">The write flip-flop.</param>
/// <param name="LatchState">What of a latched count is still to be read.</param>
/// <param name="WriteLatch">The low byte written while waiting for the high byte.</param>
/// <param name="LatchedCount">The latched count.</param>
/// <param name="LatchedStatus">The latched read-back status.</param>
/// <param name="StatusLatched">A latched status waits to be read.</param>
/// <param name="Triggered">A gate rising edge (re)started counting in modes 1, 2, 3 or 5.</param>
public sealed record PitChannelState(
    int Mode,
    int Access,
    bool Bcd,
    int InitialCount,
    bool CountLoaded,
    long LoadTick,
    bool Gate,
    PitByteState ReadState,
    PitByteState WriteState,
    PitByteState LatchState,
    byte WriteLatch,
    ushort LatchedCount,
    byte LatchedStatus,
    bool StatusLatched,
    bool Triggered);
