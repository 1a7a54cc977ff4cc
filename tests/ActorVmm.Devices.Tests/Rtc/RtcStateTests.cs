using ActorVmm.Devices.Rtc;
using ActorVmm.Devices.Tests.Support;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using static ActorVmm.Devices.Rtc.Mc146818Rtc;

namespace ActorVmm.Devices.Tests.Rtc;

public sealed class RtcStateTests
{
    private const int StepKinds = 4;
    private const int ReadStep = 0;
    private const int WriteStep = 1;
    private const int AdvanceStep = 2;

    // A CMOS RAM byte that no clock register or memory field uses.
    private const int ScratchIndex = 0x40;
    private const byte FirstValue = 0x5A;
    private const byte SecondValue = 0xA5;

    private const int ByteShift = 8;
    private const byte RegisterCFlags = RegisterCIrqfBit | RegisterCPfBit | RegisterCAfBit | RegisterCUfBit;
    private const byte ResetClearedRegisterBBits = RegisterBPieBit | RegisterBAieBit | RegisterBUieBit | RegisterBSqweBit;

    private static readonly DateTimeOffset Start = new(2026, 11, 25, 14, 37, 52, 500, TimeSpan.Zero);

    // Each turns a valid state into one no register could hold; the int is a random non-negative amount.
    private static readonly Func<RtcState, int, RtcState>[] Corruptions =
    [
        (s, n) => s with { Cmos = [.. s.Cmos.Take(n % CmosSize)] },
        (s, n) => s with { Cmos = [.. s.Cmos, .. new byte[1 + n]] },
        (s, n) => s with { Index = CmosSize + n },
        (s, n) => s with { Index = -1 - n },
        (s, _) => s with { Cmos = s.Cmos.SetItem(RegisterAIndex, (byte)(s.Cmos[RegisterAIndex] | RegisterAUipBit)) },
        (s, n) => s with { Cmos = s.Cmos.SetItem(RegisterCIndex, (byte)(s.Cmos[RegisterCIndex] | Bits.OneOf(unchecked((byte)~RegisterCFlags), n))) },
        (s, _) => s with { IrqAsserted = !s.IrqAsserted },
        (s, n) => s with { Cmos = s.Cmos.SetItem(RegisterDIndex, (byte)(RegisterDVrtBit ^ (1 + (n % byte.MaxValue)))) },
        (s, n) => s with { ClockOffset = TimeSpan.FromTicks(DateTime.MaxValue.Ticks + 1 + n) },
        (s, n) => s with { ClockOffset = TimeSpan.FromTicks(-DateTime.MaxValue.Ticks - 1 - n) },
        (s, n) => s with { EventsProcessedUntil = DateTime.MaxValue.Ticks + 1 + n },
        (s, n) => s with { EventsProcessedUntil = DateTime.MinValue.Ticks - 1 - n },
    ];

    [Property(MaxTest = 200)]
    public void A_clock_rebuilt_from_its_state_reads_and_interrupts_like_the_original(RandomSteps prefix, RandomSteps suffix)
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
        var valid = (RtcState)StateRebuild.Drive(Create(time, null, new Transcript()), Apply, DeviceStep.From(steps), Clock(time)).CaptureState();

        var corrupt = Corruptions[corruption % Corruptions.Length](valid, amount);

        Assert.Throws<DeviceStateException>(corrupt.Validate);
        Assert.Throws<DeviceStateException>(() => Create(time, corrupt, new Transcript()));
    }

    [Fact]
    public void A_new_clock_captures_the_power_on_state()
    {
        var time = new FakeTimeProvider(Start);

        var state = Create(time, null, new Transcript()).CaptureState();

        Assert.Equal(new RtcState(PowerOnCmos(), Index: 0, NmiDisabled: false, TimeSpan.Zero, Start.UtcTicks, IrqAsserted: false), state);
    }

    [Property(MaxTest = 200)]
    public void Reset_clears_enables_flags_index_and_irq_and_keeps_time_and_ram(RandomSteps steps)
    {
        var time = new FakeTimeProvider(Start);
        var rtc = StateRebuild.Drive(Create(time, null, new Transcript()), Apply, DeviceStep.From(steps), Clock(time));
        var before = (RtcState)rtc.CaptureState();

        rtc.Reset();

        var expectedCmos = before.Cmos
            .SetItem(RegisterBIndex, (byte)(before.Cmos[RegisterBIndex] & ~ResetClearedRegisterBBits))
            .SetItem(RegisterCIndex, 0);
        long guestNow = rtc.Inspect(chip => chip.GuestNow.Ticks);
        var expected = before with { Cmos = expectedCmos, Index = 0, NmiDisabled = false, EventsProcessedUntil = guestNow, IrqAsserted = false };
        Assert.Equal(expected, rtc.CaptureState());
    }

    [Fact]
    public void A_captured_state_keeps_its_values_while_the_clock_and_its_rebuild_change()
    {
        var time = new FakeTimeProvider(Start);
        var rig = new DeviceRig<RtcDevice>(Create(time, null, new Transcript()), new Transcript());
        WriteCmos(rig, ScratchIndex, FirstValue);
        var state = (RtcState)rig.Device.CaptureState();

        WriteCmos(rig, ScratchIndex, SecondValue);
        var twin = new DeviceRig<RtcDevice>(Create(time, state, new Transcript()), new Transcript());
        WriteCmos(twin, ScratchIndex, SecondValue);

        Assert.Equal(FirstValue, state.Cmos[ScratchIndex]);
        Assert.Equal(SecondValue, ((RtcState)twin.Device.CaptureState()).Cmos[ScratchIndex]);
    }

    [Fact]
    public void A_state_array_copies_its_source()
    {
        var source = new byte[CmosSize];
        source[ScratchIndex] = FirstValue;

        var cmos = StateArray.Create<byte>(source);
        source[ScratchIndex] = SecondValue;

        Assert.Equal(FirstValue, cmos[ScratchIndex]);
    }

    [Fact]
    public void A_rebuilt_clock_drives_irq8_to_the_captured_level()
    {
        var time = new FakeTimeProvider(Start);
        var rig = new DeviceRig<RtcDevice>(Create(time, null, new Transcript()), new Transcript());
        WriteCmos(rig, RegisterBIndex, RegisterB24HourBit | RegisterBUieBit);
        time.Advance(TimeSpan.FromSeconds(1));
        rig.Device.OnTimer();
        var state = (RtcState)rig.Device.CaptureState();

        var transcript = new Transcript();
        Create(time, state, transcript);

        Assert.True(state.IrqAsserted);
        Assert.Equal([$"IRQ {RtcDevice.Irq} high"], transcript.Entries);
    }

    private static RtcDevice Create(FakeTimeProvider time, DeviceState? state, Transcript transcript) =>
        new(time, transcript.Line(RtcDevice.Irq), CmosMemorySize.None, state: (RtcState?)state);

    private static void Apply(DeviceRig<RtcDevice> rig, DeviceStep step)
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
            default:
                rig.Transcript.Add($"next event in {rig.Device.OnTimer()}");
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

    private static void WriteCmos(DeviceRig<RtcDevice> rig, int index, byte value)
    {
        rig.Bus.Out8((ushort)RtcDevice.DefaultPioBase, (byte)index);
        rig.Bus.Out8((ushort)(RtcDevice.DefaultPioBase + DataOffset), value);
    }

    // CMOS at power-on with no RAM reported: registers A, B, D, 640 KiB of base memory and the checksum over it.
    private static StateArray<byte> PowerOnCmos()
    {
        var cmos = new byte[CmosSize];
        cmos[RegisterAIndex] = RegisterADefault;
        cmos[RegisterBIndex] = RegisterBDefault;
        cmos[RegisterDIndex] = RegisterDVrtBit;
        cmos[BaseMemoryLowIndex] = unchecked((byte)BaseMemoryKiB);
        cmos[BaseMemoryLowIndex + 1] = (byte)(BaseMemoryKiB >> ByteShift);
        int checksum = cmos[BaseMemoryLowIndex] + cmos[BaseMemoryLowIndex + 1];
        cmos[ChecksumHighIndex] = (byte)(checksum >> ByteShift);
        cmos[ChecksumHighIndex + 1] = (byte)checksum;
        return StateArray.Create<byte>(cmos);
    }
}
