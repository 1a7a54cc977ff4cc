using ActorVmm.Actors.Console;
using ActorVmm.Actors.Hosting;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Serial;
using ActorVmm.Emulator;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

/// <summary>Real guests on the emulator backend, through the whole actor layer.</summary>
public sealed class EndToEndTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const ulong MemorySize = 1024 * 1024;
    private const int IterationsAfterQuarantine = 2000;
    private static readonly TimeSpan GuestPatience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Guest_keeps_printing_complete_ordered_output_while_a_device_in_its_vm_throws_until_quarantined(bool realUart)
    {
        var settings = SupervisionSettings.FromConfig(ActorVmmConfig.Load());
        var console = new CollectingStream();
        var stopSwitch = new StopSwitch();
        var instances = new InstanceLog();
        var definition = new VmDefinition(
            "e2e",
            MemorySize,
            1,
            ActorGuests.PrintUntilSwitched(pokeFlaky: true),
            [realUart ? SerialConsoleDevice.Definition(SerialPortSpec.Com1) : TestConsoleDevice.Definition(ActorGuests.ConsolePort), FlakyDevice.Definition("flaky", ActorGuests.FlakyPort, instances), stopSwitch.Definition(ActorGuests.SwitchPort)],
            new ConsoleTarget("memory", () => console),
            Platform: NoPlatform.Instance);
        Sys.EventStream.Subscribe(TestActor, typeof(SupervisorProtocol.DeviceFailed));
        using var hypervisor = new EmulatorHypervisor();
        var vm = Sys.ActorOf(VmActor.Props(definition, hypervisor), definition.Name);

        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        var failed = ExpectMsg<SupervisorProtocol.DeviceFailed>(GuestPatience);
        long readsAtQuarantine = stopSwitch.Reads;
        AwaitCondition(() => stopSwitch.Reads > readsAtQuarantine + IterationsAfterQuarantine, GuestPatience, PollInterval);
        stopSwitch.Flip();
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);
        var exited = ExpectMsg<VmProtocol.Exited>(GuestPatience);
        vm.Tell(VmProtocol.GetStatus.Instance, TestActor);
        var status = ExpectMsg<VmProtocol.VmStatus>(Patience);

        Assert.Equal("flaky", failed.DeviceName);
        Assert.Equal(VmExitReason.ExitPort, exited.Exit.Reason);
        Assert.Equal(VmExit.Success, exited.Exit.ExitCode);
        Assert.Equal(ActorGuests.ExpectedOutput((int)stopSwitch.Reads), console.Bytes);
        var flaky = status.Devices.Devices.Single(d => d.Name == "flaky");
        Assert.Equal(DeviceLifecycle.Failed, flaky.State);
        Assert.Equal(settings.MaxRestarts, flaky.Restarts);
        Assert.Equal(settings.MaxRestarts + 1, instances.Created);
        var region = Assert.Single(flaky.Regions);
        Assert.True(region.Quarantined);
        Assert.True(region.Counters.Dropped >= IterationsAfterQuarantine);
        string consoleName = realUart ? SerialPortSpec.Com1.Name : "console";
        Assert.Equal(DeviceLifecycle.Running, status.Devices.Devices.Single(d => d.Name == consoleName).State);
        Assert.Equal(VmState.Stopped, status.State);
    }
}
