using ActorVmm.Devices.I8042;
using ActorVmm.Devices.Tests.Support;
using FsCheck.Xunit;
using static ActorVmm.Devices.I8042.I8042Registers;

namespace ActorVmm.Devices.Tests.I8042;

public sealed class I8042StateTests
{
    private const int StepKinds = 8;
    private const int ReadStep = 0;
    private const int WriteStep = 1;
    private const int ByteReadStep = 2;
    private const int ByteWriteStep = 3;
    private const int ControllerCommandStep = 4;
    private const int Ps2CommandStep = 5;
    private const int MouseCommandStep = 6;
    private const int ByteSizeChoice = 0;
    private const byte NotADataCommand = CmdSelfTest;
    private const byte NoSuchPs2Command = 0x01;
    private const int MaxScanCodeSet = 3;
    private const int Ram1Index = 1;
    private const byte Ram1Value = 0x5A;
    private const byte OtherRam1Value = 0xA5;
    private const byte StatusComputedBits = unchecked((byte)~I8042State.StoredStatusBits);

    // Commands the controller and its PS/2 devices act on, so random traffic reaches every part of the state.
    private static readonly byte[] ControllerCommands =
    [
        CmdReadCommandByte, CmdReadRamLast, CmdWriteCommandByte, CmdWriteRamLast, CmdPasswordTest, CmdAuxDisable, CmdAuxEnable,
        CmdAuxInterfaceTest, CmdSelfTest, CmdKeyboardInterfaceTest, CmdKeyboardDisable, CmdKeyboardEnable, CmdReadInputPort,
        CmdReadOutputPort, CmdWriteOutputPort, CmdWriteKeyboardOutput, CmdWriteAuxOutput, CmdWriteAux, CmdReadTestInputs, CmdPulseReset,
    ];

    private static readonly byte[] Ps2Commands =
    [
        Ps2CmdReset, Ps2CmdResend, Ps2CmdSetDefaults, Ps2CmdDisable, Ps2CmdEnable, Ps2CmdSetRate, Ps2CmdGetId, Ps2CmdScanCodeSetOrRemote,
        KbdCmdEcho, KbdCmdSetLeds, AuxCmdSetResolution, AuxCmdStatusRequest, AuxCmdReadData,
    ];

    private static readonly I8042State PowerOn = new(
        [CtrPowerOn, .. new byte[I8042State.RamSize - 1]],
        StatusKeyboardUnlocked | StatusSystemFlag,
        OutputPortPowerOn,
        PendingCommand: 0,
        OutputBuffer: 0,
        OutputFull: false,
        OutputFromAux: false,
        KeyboardIrqAsserted: false,
        AuxIrqAsserted: false,
        ControllerReplies: [],
        KeyboardQueue: [],
        AuxQueue: [],
        new Ps2KeyboardState(AwaitingArgumentFor: 0, LastSent: Ps2Ack, ScanningEnabled: true, Leds: 0, KbdDefaultTypematic, KbdDefaultScanCodeSet),
        new Ps2MouseState(AwaitingArgumentFor: 0, LastSent: Ps2Ack, AuxDefaultSampleRate, AuxDefaultResolution, ReportingEnabled: false, RemoteMode: false, ScalingTwoToOne: false));

    // Each turns a valid state into one no register could hold; the int is a random non-negative amount.
    private static readonly Func<I8042State, int, I8042State>[] Corruptions =
    [
        (s, n) => s with { Ram = [.. s.Ram.Take(n % I8042State.RamSize)] },
        (s, n) => s with { Ram = [.. s.Ram, .. new byte[1 + n]] },
        (s, n) => s with { Status = (byte)(s.Status | Bits.OneOf(StatusComputedBits, n)) },
        (s, _) => s with { Status = (byte)(s.Status & ~StatusKeyboardUnlocked) },
        (s, n) => s with { OutputPort = (byte)(s.OutputPort | (n % 2 == 0 ? OutputPortKeyboardFullBit : OutputPortAuxFullBit)) },
        (s, _) => s with { OutputPort = (byte)(s.OutputPort & ~OutputPortResetBit) },
        (s, _) => s with { PendingCommand = NotADataCommand },
        (s, n) => s with { ControllerReplies = [.. Enumerable.Repeat(new I8042Reply(Ps2Ack, FromAux: false), I8042Controller.DeviceQueueCapacity + 1 + n)] },
        (s, n) => s with { KeyboardQueue = [.. new byte[I8042Controller.DeviceQueueCapacity + 1 + n]] },
        (s, n) => s with { AuxQueue = [.. new byte[I8042Controller.DeviceQueueCapacity + 1 + n]] },
        (s, _) => s with { OutputFull = false, KeyboardIrqAsserted = false, AuxIrqAsserted = false, ControllerReplies = [new I8042Reply(ReplySelfTestPassed, FromAux: false)] },
        (s, _) => s with { KeyboardIrqAsserted = !s.KeyboardIrqAsserted },
        (s, _) => s with { AuxIrqAsserted = !s.AuxIrqAsserted },
        (s, _) => s with { Keyboard = s.Keyboard with { AwaitingArgumentFor = NoSuchPs2Command } },
        (s, n) => s with { Keyboard = s.Keyboard with { ScanCodeSet = (byte)(n % 2 == 0 ? 0 : MaxScanCodeSet + 1 + (n % (byte.MaxValue - MaxScanCodeSet))) } },
        (s, _) => s with { Mouse = s.Mouse with { AwaitingArgumentFor = NoSuchPs2Command } },
        (s, n) => n % 2 == 0 ? s with { Keyboard = null! } : s with { Mouse = null! },
    ];

    [Property(MaxTest = 300)]
    public void A_controller_rebuilt_from_its_state_answers_and_interrupts_like_the_original(RandomSteps prefix, RandomSteps suffix) =>
        StateRebuild.AssertTwinBehavesLikeOriginal(Create, Apply, DeviceStep.From(prefix), DeviceStep.From(suffix));

    [Property(MaxTest = 300)]
    public void Validate_rejects_a_reachable_state_with_one_impossible_field(RandomSteps steps, byte corruption, ushort amount)
    {
        var valid = (I8042State)StateRebuild.Drive(Create(null, new Transcript()), Apply, DeviceStep.From(steps)).CaptureState();

        var corrupt = Corruptions[corruption % Corruptions.Length](valid, amount);

        Assert.Throws<DeviceStateException>(corrupt.Validate);
        Assert.Throws<DeviceStateException>(() => Create(corrupt, new Transcript()));
    }

    [Fact]
    public void A_new_controller_captures_the_power_on_state() =>
        Assert.Equal(PowerOn, Create(null, new Transcript()).CaptureState());

    [Property(MaxTest = 200)]
    public void Reset_returns_to_the_power_on_state(RandomSteps steps)
    {
        var kbc = StateRebuild.Drive(Create(null, new Transcript()), Apply, DeviceStep.From(steps));

        kbc.Reset();

        Assert.Equal(PowerOn, kbc.CaptureState());
    }

    [Fact]
    public void A_captured_state_keeps_its_values_while_the_controller_and_its_rebuild_change()
    {
        var rig = new DeviceRig<I8042Device>(Create(null, new Transcript()), new Transcript());
        WriteRam1(rig, Ram1Value);
        var state = (I8042State)rig.Device.CaptureState();

        WriteRam1(rig, OtherRam1Value);
        var twin = new DeviceRig<I8042Device>(Create(state, new Transcript()), new Transcript());
        WriteRam1(twin, OtherRam1Value);

        Assert.Equal(Ram1Value, state.Ram[Ram1Index]);
        Assert.Equal(OtherRam1Value, ((I8042State)twin.Device.CaptureState()).Ram[Ram1Index]);
    }

    [Fact]
    public void A_rebuilt_controller_drives_irq1_to_the_captured_level()
    {
        var rig = new DeviceRig<I8042Device>(Create(null, new Transcript()), new Transcript());
        rig.Bus.Out8(CommandPort, CmdSelfTest);
        var state = (I8042State)rig.Device.CaptureState();

        var transcript = new Transcript();
        Create(state, transcript);

        Assert.True(state.KeyboardIrqAsserted);
        Assert.Equal([$"IRQ {KeyboardIrq} high", $"IRQ {AuxIrq} low"], transcript.Entries);
    }

    private static I8042Device Create(DeviceState? state, Transcript transcript) =>
        new(transcript.Line(KeyboardIrq), transcript.Line(AuxIrq), transcript.Power, (I8042State?)state);

    private static void Apply(DeviceRig<I8042Device> rig, DeviceStep step)
    {
        switch (step.Kind % StepKinds)
        {
            case ReadStep:
                rig.Access(step, write: false);
                break;
            case WriteStep:
                rig.Access(step, write: true);
                break;
            case ByteReadStep:
                rig.Access(step with { SizeChoice = ByteSizeChoice }, write: false);
                break;
            case ByteWriteStep:
                rig.Access(step with { SizeChoice = ByteSizeChoice }, write: true);
                break;
            case ControllerCommandStep:
                rig.Bus.Out8(CommandPort, ControllerCommands[step.Value % (ulong)ControllerCommands.Length]);
                break;
            case Ps2CommandStep:
                rig.Bus.Out8(DataPort, Ps2Commands[step.Value % (ulong)Ps2Commands.Length]);
                break;
            case MouseCommandStep:
                rig.Bus.Out8(CommandPort, CmdWriteAux);
                rig.Bus.Out8(DataPort, Ps2Commands[step.Value % (ulong)Ps2Commands.Length]);
                break;
            default:
                // Host keyboard input: Size bytes of Value, low byte first.
                byte[] bytes = BitConverter.GetBytes(step.Value)[..step.Size];
                rig.Transcript.Add($"host keyboard bytes accepted: {rig.Device.EnqueueKeyboardBytes(bytes)}");
                break;
        }
    }

    private static void WriteRam1(DeviceRig<I8042Device> rig, byte value)
    {
        rig.Bus.Out8(CommandPort, CmdWriteCommandByte + Ram1Index);
        rig.Bus.Out8(DataPort, value);
    }
}
