using ActorVmm.Devices.Pic;
using ActorVmm.Devices.Tests.Support;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.Pic;

public sealed class PicStateTests
{
    private const int StepKinds = 5;
    private const int ReadStep = 0;
    private const int WriteStep = 1;
    private const int LevelStep = 2;
    private const int PulseStep = 3;

    private const ushort MasterCommand = (ushort)PicDevice.DefaultMasterBase;
    private const ushort MasterData = (ushort)(PicDevice.DefaultMasterBase + Pic8259Chip.DataOffset);
    private const byte Icw1Edge = Pic8259Chip.Icw1InitBit | Pic8259Chip.Icw1NeedIcw4Bit;
    private const byte VectorBase = 0x20;
    private const byte Icw4X86Mode = 0b0000_0001; // ICW4 bit 0: 8086/8088 mode
    private const byte MaskAllButKeyboard = 0b1111_1101;
    private const int Keyboard = 1;

    private static readonly PicChipState PowerOnChip = new(
        Irr: 0, Isr: 0, Imr: 0, Elcr: 0, InputLevels: 0, VectorBase: 0, PriorityAdd: 0, PicInitStep.Ready,
        NeedIcw4: false, Single: false, ReadIsr: false, PollPending: false, AutoEoi: false, RotateOnAutoEoi: false,
        SpecialMask: false, SpecialFullyNested: false, LevelTriggeredAll: false);

    // Each turns a valid state into one no register could hold; the int is a random non-negative amount (its parity picks the chip).
    private static readonly Func<PicState, int, PicState>[] Corruptions =
    [
        (s, n) => WithChip(s, n, c => c with { VectorBase = (byte)(c.VectorBase | (1 + (n % Pic8259Chip.SpuriousInput))) }),
        (s, n) => WithChip(s, n, c => c with { PriorityAdd = Pic8259Chip.Inputs + n }),
        (s, n) => WithChip(s, n, c => c with { PriorityAdd = -1 - n }),
        (s, n) => WithChip(s, n, c => c with { Init = (PicInitStep)((int)PicInitStep.ExpectIcw4 + 1 + n) }),
        (s, n) => WithChip(s, n, c => c with { Init = PicInitStep.ExpectIcw3, Single = true }),
        (s, n) => WithChip(s, n, c => c with { Init = PicInitStep.ExpectIcw4, NeedIcw4 = false }),
        (s, _) => s with { Master = s.Master with { Elcr = (byte)(s.Master.Elcr | unchecked((byte)~PicPair.ElcrMasterWritableMask)) } },
        (s, _) => s with { Slave = s.Slave with { Elcr = (byte)(s.Slave.Elcr | unchecked((byte)~PicPair.ElcrSlaveWritableMask)) } },
        (s, n) => n % 2 == 0 ? s with { Master = null! } : s with { Slave = null! },
    ];

    [Property(MaxTest = 300)]
    public void A_controller_rebuilt_from_its_state_answers_and_interrupts_like_the_original(RandomSteps prefix, RandomSteps suffix) =>
        StateRebuild.AssertTwinBehavesLikeOriginal(Create, Apply, DeviceStep.From(prefix), DeviceStep.From(suffix));

    [Property(MaxTest = 300)]
    public void Validate_rejects_a_reachable_state_with_one_impossible_field(RandomSteps steps, byte corruption, ushort amount)
    {
        var pic = StateRebuild.Drive(Create(null, new Transcript()), Apply, DeviceStep.From(steps));
        var valid = (PicState)pic.CaptureState();

        var corrupt = Corruptions[corruption % Corruptions.Length](valid, amount);

        Assert.Throws<DeviceStateException>(corrupt.Validate);
        Assert.Throws<DeviceStateException>(() => Create(corrupt, new Transcript()));
        Assert.Throws<DeviceStateException>(() => pic.LoadState(corrupt));
        Assert.Equal(valid, pic.CaptureState());
    }

    [Fact]
    public void A_new_controller_captures_the_power_on_state() =>
        Assert.Equal(new PicState(PowerOnChip, PowerOnChip), new PicDevice().CaptureState());

    [Property(MaxTest = 200)]
    public void Reset_returns_to_the_power_on_state_keeping_the_chipset_ELCR(RandomSteps steps)
    {
        var pic = StateRebuild.Drive(Create(null, new Transcript()), Apply, DeviceStep.From(steps));
        var before = (PicState)pic.CaptureState();

        pic.Reset();

        var expected = new PicState(PowerOnChip with { Elcr = before.Master.Elcr }, PowerOnChip with { Elcr = before.Slave.Elcr });
        Assert.Equal(expected, pic.CaptureState());
    }

    [Fact]
    public void The_supervisor_definition_loads_a_restored_state_into_the_attached_controller()
    {
        var (source, _) = Initialised();
        source.SetIrqLevel(Keyboard, asserted: true);
        var state = (PicState)source.CaptureState();
        var attached = new PicDevice();
        int requests = 0;
        attached.InterruptRequested += () => requests++;
        var definition = TimerDeviceDefinitions.Pic(attached);

        var instance = definition.Factory(TestDeviceContext.Create(definition.Name, TimeProvider.System, state));

        Assert.Same(attached, instance);
        Assert.Equal(state, attached.CaptureState());
        Assert.Equal(1, requests);
        Assert.True(attached.TryAcknowledge(out byte vector));
        Assert.Equal(VectorBase + Keyboard, vector);
    }

    [Fact]
    public void The_supervisor_definition_refuses_another_device_state_and_keeps_the_controller()
    {
        var (attached, _) = Initialised();
        var before = attached.CaptureState();
        var definition = TimerDeviceDefinitions.Pic(attached);
        var context = TestDeviceContext.Create(definition.Name, TimeProvider.System, new ActorVmm.Devices.ExitPort.ExitPortState());

        Assert.Throws<DeviceStateException>(() => definition.Factory(context));
        Assert.Equal(before, attached.CaptureState());
    }

    private static PicDevice Create(DeviceState? state, Transcript transcript)
    {
        var pic = new PicDevice(state: (PicState?)state);
        pic.InterruptRequested += () => transcript.Add("INTR raised");
        return pic;
    }

    private static void Apply(DeviceRig<PicDevice> rig, DeviceStep step)
    {
        var pic = rig.Device;
        int irq = step.Target % PicPair.IrqCount;
        switch (step.Kind % StepKinds)
        {
            case ReadStep:
                rig.Access(step, write: false);
                break;
            case WriteStep:
                rig.Access(step, write: true);
                break;
            case LevelStep:
                pic.SetIrqLevel(irq, (step.Value & 1) != 0);
                break;
            case PulseStep:
                pic.PulseIrq(irq);
                break;
            default:
                rig.Transcript.Add(pic.TryAcknowledge(out byte vector) ? $"INTA vector 0x{vector:X2}" : "INTA refused");
                break;
        }

        rig.Transcript.Add($"INTR {pic.HasPendingInterrupt}");
    }

    // Master in Linux's edge-triggered setup at vector 0x20 with only the keyboard unmasked.
    private static (PicDevice Pic, DeviceRig<PicDevice> Rig) Initialised()
    {
        var rig = new DeviceRig<PicDevice>(new PicDevice(), new Transcript());
        foreach (var (port, value) in new (ushort, byte)[]
        {
            (MasterCommand, Icw1Edge), (MasterData, VectorBase), (MasterData, 1 << PicPair.CascadeInput), (MasterData, Icw4X86Mode),
            (MasterData, MaskAllButKeyboard),
        })
        {
            rig.Bus.Out8(port, value);
        }

        return (rig.Device, rig);
    }

    private static PicState WithChip(PicState state, int n, Func<PicChipState, PicChipState> change) =>
        n % 2 == 0 ? state with { Master = change(state.Master) } : state with { Slave = change(state.Slave) };
}
