using ActorVmm.Devices.ExitPort;
using ActorVmm.Devices.Legacy;
using ActorVmm.Devices.Tests.Support;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.ExitPort;

public sealed class ExitPortStateTests
{
    private const int StepKinds = 2;
    private const int ReadStep = 0;
    private const byte ExitStatus = 3;

    [Property(MaxTest = 100)]
    public void An_exit_port_rebuilt_from_its_state_answers_and_stops_like_the_original(RandomSteps prefix, RandomSteps suffix) =>
        StateRebuild.AssertTwinBehavesLikeOriginal(Create, Apply, DeviceStep.From(prefix), DeviceStep.From(suffix));

    [Fact]
    public void Every_capture_is_the_empty_state()
    {
        var transcript = new Transcript();
        var rig = new DeviceRig<ExitPortDevice>(Create(null, transcript), transcript);
        var before = rig.Device.CaptureState();

        rig.Bus.Out8(ExitPortDevice.Port, ExitStatus);

        Assert.Equal(new ExitPortState(), before);
        Assert.Equal(before, rig.Device.CaptureState());
        Assert.NotEmpty(transcript.Entries);
    }

    [Fact]
    public void The_definition_refuses_another_device_state() =>
        Assert.Throws<DeviceStateException>(() => ExitPortDevice.Definition.Factory(
            TestDeviceContext.Create(ExitPortDevice.DeviceName, TimeProvider.System, new LegacyPortsState(LegacyPorts.SystemControlA20Bit, LastPostCode: null))));

    // Nothing to load: a rebuilt exit port is a fresh one.
    private static ExitPortDevice Create(DeviceState? state, Transcript transcript) => new(transcript.Power);

    private static void Apply(DeviceRig<ExitPortDevice> rig, DeviceStep step) =>
        rig.Access(step, write: step.Kind % StepKinds != ReadStep);
}
