using ActorVmm.Devices.Legacy;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.TestSupport;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.Legacy;

public sealed class LegacyPortsStateTests
{
    private const int StepKinds = 2;
    private const int ReadStep = 0;
    private const byte FirstCode = 0x42;
    private const byte SecondCode = 0x43;

    private static readonly LegacyPortsState PowerOn = new(LegacyPorts.SystemControlA20Bit, LastPostCode: null);

    [Property(MaxTest = 300)]
    public void Ports_rebuilt_from_their_state_answer_and_request_like_the_original(RandomSteps prefix, RandomSteps suffix) =>
        StateRebuild.AssertTwinBehavesLikeOriginal(Create, Apply, DeviceStep.From(prefix), DeviceStep.From(suffix));

    [Property(MaxTest = 300)]
    public void Every_byte_is_a_state_the_ports_can_hold_and_read_back(byte systemControlA, byte? postCode)
    {
        var state = new LegacyPortsState(systemControlA, postCode);
        state.Validate();
        var bus = new DeviceBus(Create(state, new Transcript()));

        Assert.Equal(systemControlA, bus.In8(LegacyPortMap.SystemControlAPort));
        Assert.Equal(postCode ?? LegacyPorts.EmptyBusByte, bus.In8(LegacyPortMap.PostCodePort));
    }

    [Fact]
    public void New_ports_capture_the_power_on_state() =>
        Assert.Equal(PowerOn, Create(null, new Transcript()).CaptureState());

    [Property(MaxTest = 200)]
    public void Reset_returns_to_the_power_on_state(RandomSteps steps)
    {
        var ports = StateRebuild.Drive(Create(null, new Transcript()), Apply, DeviceStep.From(steps));

        ports.Reset();

        Assert.Equal(PowerOn, ports.CaptureState());
    }

    [Fact]
    public void A_captured_state_keeps_its_values_while_the_ports_change()
    {
        var ports = Create(null, new Transcript());
        var bus = new DeviceBus(ports);
        bus.Out8(LegacyPortMap.PostCodePort, FirstCode);
        var state = (LegacyPortsState)ports.CaptureState();

        bus.Out8(LegacyPortMap.PostCodePort, SecondCode);

        Assert.Equal(FirstCode, state.LastPostCode);
    }

    private static LegacyPortsDevice Create(DeviceState? state, Transcript transcript) =>
        new(LegacyPortOptions.Default, transcript.Power, new ManualTimeProvider(), state: (LegacyPortsState?)state);

    private static void Apply(DeviceRig<LegacyPortsDevice> rig, DeviceStep step) =>
        rig.Access(step, write: step.Kind % StepKinds != ReadStep);
}
