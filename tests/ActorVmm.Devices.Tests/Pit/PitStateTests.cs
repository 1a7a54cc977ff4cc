using ActorVmm.Devices.Pit;
using ActorVmm.Devices.Tests.Support;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;

namespace ActorVmm.Devices.Tests.Pit;

public sealed class PitStateTests
{
    private const int StepKinds = 5;
    private const int ReadStep = 0;
    private const int WriteStep = 1;
    private const int AdvanceStep = 2;
    private const int ProgramStep = 3;

    private const ushort Channel0Port = (ushort)PitDevice.DefaultCounterBase;
    private const ushort ControlPort = (ushort)(PitDevice.DefaultCounterBase + Pit8254.ControlOffset);
    private const int PowerOnMode = 0;
    private const int SpeakerChannel = 2;
    private const byte Ch0LoHiMode2 = 0b00_11_010_0;
    private const ushort FirstCount = 1193;
    private const ushort SecondCount = 11932;
    private const int ByteShift = 8;
    private const byte PortBReadOnlyBits = unchecked((byte)~Pit8254.PortBWritableMask);

    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    // Each turns a valid state into one no register could hold; the int is a random non-negative amount.
    private static readonly Func<PitState, int, PitState>[] Corruptions =
    [
        (s, n) => s with { Channels = [.. s.Channels.Take(n % Pit8254.ChannelCount)] },
        (s, n) => s with { Channels = [.. s.Channels, s.Channels[n % Pit8254.ChannelCount]] },
        (s, n) => s with { Channels = s.Channels.SetItem(n % Pit8254.ChannelCount, null!) },
        (s, _) => s with { PortB = (byte)(s.PortB | PortBReadOnlyBits) },
        (s, n) => s with { IrqDeliveredUntil = -1 - n },
        (s, n) => s with { LastIrqClock = -1 - n },
        (s, n) => WithChannel(s, n, c => c with { Mode = PitChannel.LastMode + 1 + n }),
        (s, n) => WithChannel(s, n, c => c with { Mode = -1 - n }),
        (s, n) => WithChannel(s, n, c => c with { Access = n % 2 == 0 ? (int)PitByteState.None : (int)PitByteState.Word1 + n }),
        (s, n) => WithChannel(s, n, c => c with { InitialCount = n % 2 == 0 ? -n : PitChannel.BinaryModulus + 1 + n }),
        (s, n) => WithChannel(s, n, c => c with { LoadTick = -1 - n }),
        (s, n) => WithChannel(s, n, c => c with { ReadState = Misfit(c.Access) }),
        (s, n) => WithChannel(s, n, c => c with { WriteState = Misfit(c.Access) }),
        (s, n) => WithChannel(s, n, c => c with { LatchState = PitByteState.Word1 }),
        (s, n) => WithChannel(s, n, c => c with { Triggered = true, CountLoaded = false }),
        (s, n) => WithChannel(s, n, c => c with { StatusLatched = true, LatchedStatus = 0 }),
        (s, n) => WithChannel(s, n % SpeakerChannel, c => c with { Gate = false }),
        (s, _) => WithChannel(s, SpeakerChannel, c => c with { Gate = !c.Gate }),
    ];

    [Property(MaxTest = 200)]
    public void A_timer_rebuilt_from_its_state_counts_and_interrupts_like_the_original(RandomSteps prefix, RandomSteps suffix)
    {
        var time = new FakeTimeProvider(Start);
        StateRebuild.AssertTwinBehavesLikeOriginal(
            (state, transcript) => Create(time, state, transcript),
            Apply,
            DeviceStep.From(prefix),
            DeviceStep.From(suffix),
            Clock(time));
    }

    [Property(MaxTest = 300)]
    public void Validate_rejects_a_reachable_state_with_one_impossible_field(RandomSteps steps, byte corruption, ushort amount)
    {
        var time = new FakeTimeProvider(Start);
        var valid = (PitState)StateRebuild.Drive(Create(time, null, new Transcript()), Apply, DeviceStep.From(steps), Clock(time)).CaptureState();

        var corrupt = Corruptions[corruption % Corruptions.Length](valid, amount);

        Assert.Throws<DeviceStateException>(corrupt.Validate);
        Assert.Throws<DeviceStateException>(() => Create(time, corrupt, new Transcript()));
    }

    [Fact]
    public void A_new_timer_captures_the_power_on_state()
    {
        var time = new FakeTimeProvider(Start);

        var state = Create(time, null, new Transcript()).CaptureState();

        Assert.Equal(PowerOn(time.GetTimestamp(), irqDeliveredUntil: 0), state);
    }

    [Property(MaxTest = 200)]
    public void Reset_returns_to_the_power_on_state_on_the_same_time_base(RandomSteps steps)
    {
        var time = new FakeTimeProvider(Start);
        long origin = time.GetTimestamp();
        var pit = StateRebuild.Drive(Create(time, null, new Transcript()), Apply, DeviceStep.From(steps), Clock(time));

        pit.Reset();

        Assert.Equal(PowerOn(origin, pit.Inspect(chip => chip.NowClocks())), pit.CaptureState());
    }

    [Fact]
    public void A_captured_state_keeps_its_values_while_the_timer_and_its_rebuild_are_reprogrammed()
    {
        var time = new FakeTimeProvider(Start);
        var rig = new DeviceRig<PitDevice>(Create(time, null, new Transcript()), new Transcript());
        Program(rig, FirstCount);
        var state = (PitState)rig.Device.CaptureState();

        Program(rig, SecondCount);
        var twin = new DeviceRig<PitDevice>(Create(time, state, new Transcript()), new Transcript());
        Program(twin, SecondCount);

        Assert.Equal(FirstCount, state.Channels[0].InitialCount);
        Assert.Equal(SecondCount, ((PitState)twin.Device.CaptureState()).Channels[0].InitialCount);
    }

    private static PitDevice Create(FakeTimeProvider time, DeviceState? state, Transcript transcript) =>
        new(time, transcript.Line(PitDevice.Irq), state: (PitState?)state);

    private static void Apply(DeviceRig<PitDevice> rig, DeviceStep step)
    {
        switch (step.Kind % StepKinds)
        {
            case ReadStep:
                rig.Access(step, write: false);
                break;
            case WriteStep:
                rig.Access(step, write: true);
                break;
            case AdvanceStep:
                // The shared clock moved before the step (Clock); nothing else to do.
                break;
            case ProgramStep:
                // A random control word followed by two count bytes for the channel it names (or channel 0 after a
                // read-back), so that channels are loaded often, with small counts whenever the access mode is one byte.
                byte control = (byte)step.Value;
                int channel = control >> Pit8254.ControlChannelShift;
                ushort port = (ushort)(PitDevice.DefaultCounterBase + (ulong)(channel == Pit8254.ControlReadBack ? 0 : channel));
                rig.Bus.Out8(ControlPort, control);
                rig.Bus.Out8(port, (byte)(step.Value >> ByteShift));
                rig.Bus.Out8(port, (byte)(step.Value >> (2 * ByteShift)));
                break;
            default:
                rig.Transcript.Add($"next IRQ 0 edge in {rig.Device.OnTimer()}");
                break;
        }
    }

    private static Action<DeviceStep> Clock(FakeTimeProvider time) => step =>
    {
        if (step.Kind % StepKinds == AdvanceStep)
        {
            time.Advance(step.Advance);
        }
    };

    private static void Program(DeviceRig<PitDevice> rig, ushort count)
    {
        rig.Bus.Out8(ControlPort, Ch0LoHiMode2);
        rig.Bus.Out8(Channel0Port, (byte)count);
        rig.Bus.Out8(Channel0Port, (byte)(count >> ByteShift));
    }

    private static PitState PowerOn(long origin, long irqDeliveredUntil) =>
        new(origin, [PowerOnChannel(gate: true), PowerOnChannel(gate: true), PowerOnChannel(gate: false)], PortB: 0, irqDeliveredUntil, LastIrqClock: null);

    private static PitChannelState PowerOnChannel(bool gate) => new(
        PowerOnMode,
        (int)PitByteState.Word0,
        Bcd: false,
        PitChannel.BinaryModulus,
        CountLoaded: false,
        LoadTick: 0,
        gate,
        ReadState: PitByteState.Word0,
        WriteState: PitByteState.Word0,
        LatchState: PitByteState.None,
        WriteLatch: 0,
        LatchedCount: 0,
        LatchedStatus: 0,
        StatusLatched: false,
        Triggered: false);

    private static PitState WithChannel(PitState state, int n, Func<PitChannelState, PitChannelState> change)
    {
        int channel = n % Pit8254.ChannelCount;
        return state with { Channels = state.Channels.SetItem(channel, change(state.Channels[channel])) };
    }

    // A flip-flop state the access mode can never produce: LSB for the word mode, the word's high byte otherwise.
    private static PitByteState Misfit(int access) =>
        access == (int)PitByteState.Word0 ? PitByteState.Lsb : PitByteState.Word1;
}
