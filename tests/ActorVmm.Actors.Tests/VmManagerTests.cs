using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices.Platforms;
using ActorVmm.Emulator;
using ActorVmm.Machine.Vcpu;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

public sealed class VmManagerTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const int VmCount = 10;
    private const int CrashingVm = 0;
    private const int StoppedVm = 1;
    private const ushort PrintedByHealthyVms = 3000;
    private const byte HealthyExitStatus = 7;
    private const int BytesBeforeHostStop = 500;
    private const ulong MemorySize = 1024 * 1024;
    private static readonly TimeSpan GuestPatience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    [Fact]
    public void Ten_vms_run_concurrently_and_one_crashing_devices_and_one_stopped_midway_leave_the_others_unaffected()
    {
        using var hypervisor = new EmulatorHypervisor();
        var manager = Sys.ActorOf(VmManager.Props(hypervisor), "vms");
        var consoles = Enumerable.Range(0, VmCount).Select(_ => new CollectingStream()).ToArray();
        var switches = Enumerable.Range(0, VmCount).Select(_ => new StopSwitch()).ToArray();
        var creations = CreateTestProbe();
        Sys.EventStream.Subscribe(TestActor, typeof(SupervisorProtocol.DeviceFailed));

        for (int i = 0; i < VmCount; i++)
        {
            var console = consoles[i];
            byte[] image = i switch
            {
                CrashingVm => ActorGuests.PrintUntilSwitched(pokeFlaky: true),
                StoppedVm => ActorGuests.PrintUntilSwitched(pokeFlaky: false),
                _ => ActorGuests.PrintCount(PrintedByHealthyVms, HealthyExitStatus),
            };
            var definition = new VmDefinition(
                $"vm{i}",
                MemorySize,
                1,
                image,
                [TestConsoleDevice.Definition(ActorGuests.ConsolePort), FlakyDevice.Definition("flaky", ActorGuests.FlakyPort, new InstanceLog()), switches[i].Definition(ActorGuests.SwitchPort)],
                new ConsoleTarget("memory", () => console),
                Platform: NoPlatform.Instance);
            manager.Tell(new VmManagerProtocol.CreateVm(definition), creations.Ref);
            creations.ExpectMsg<VmManagerProtocol.VmCreated>(Patience);
            manager.Tell(new VmManagerProtocol.ToVm(definition.Name, VmProtocol.AwaitExit.Instance), TestActor);
        }

        AwaitCondition(() => consoles[StoppedVm].Bytes.Length >= BytesBeforeHostStop, GuestPatience, PollInterval);
        manager.Tell(new VmManagerProtocol.ToVm($"vm{StoppedVm}", VmProtocol.Stop.Instance), creations.Ref);
        creations.ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        var messages = new List<object>();
        var exits = new Dictionary<string, VmExit>();
        while (exits.Count < VmCount)
        {
            var message = ReceiveOne(GuestPatience) ?? throw new TimeoutException($"only {exits.Count} of {VmCount} VMs exited");
            messages.Add(message);
            switch (message)
            {
                case SupervisorProtocol.DeviceFailed failed:
                    Assert.Equal($"vm{CrashingVm}", failed.VmName);
                    switches[CrashingVm].Flip();
                    break;
                case VmProtocol.Exited exited:
                    exits[exited.Name] = exited.Exit;
                    break;
            }
        }

        Assert.Equal(VmExitReason.ExitPort, exits[$"vm{CrashingVm}"].Reason);
        Assert.Equal(ActorGuests.ExpectedOutput((int)switches[CrashingVm].Reads), consoles[CrashingVm].Bytes);
        Assert.Equal(VmExitReason.HostStop, exits[$"vm{StoppedVm}"].Reason);
        byte[] stoppedOutput = consoles[StoppedVm].Bytes;
        Assert.Equal(ActorGuests.ExpectedOutput(stoppedOutput.Length), stoppedOutput);
        for (int i = 0; i < VmCount; i++)
        {
            if (i is CrashingVm or StoppedVm)
            {
                continue;
            }

            Assert.Equal(VmExitReason.ExitPort, exits[$"vm{i}"].Reason);
            Assert.Equal(HealthyExitStatus, exits[$"vm{i}"].ExitCode);
            Assert.Equal(ActorGuests.ExpectedOutput(PrintedByHealthyVms), consoles[i].Bytes);
            manager.Tell(new VmManagerProtocol.ToVm($"vm{i}", VmProtocol.GetStatus.Instance), TestActor);
            var status = ExpectMsg<VmProtocol.VmStatus>(Patience);
            Assert.Equal(0, status.Devices.Restarts);
            Assert.All(status.Devices.Devices, d => Assert.Equal(DeviceLifecycle.Running, d.State));
        }

        Assert.Single(messages.OfType<SupervisorProtocol.DeviceFailed>());
        manager.Tell(VmManagerProtocol.ListVms.Instance, TestActor);
        var list = ExpectMsg<VmManagerProtocol.VmList>(Patience);
        Assert.Equal(VmCount, list.Vms.Count);
        Assert.All(list.Vms, vm => Assert.Equal(VmState.Stopped, vm.State));
    }

    [Fact]
    public void Manager_rejects_a_duplicate_or_invalid_vm_and_answers_unknown_names_with_not_found()
    {
        using var hypervisor = new FakeHypervisor(_ => _ => VcpuExit.Halted);
        var manager = Sys.ActorOf(VmManager.Props(hypervisor));
        var definition = new VmDefinition("only", MemorySize, 1, null, [], ConsoleTarget.None, Platform: NoPlatform.Instance);
        manager.Tell(new VmManagerProtocol.CreateVm(definition, Start: false), TestActor);
        ExpectMsg<VmManagerProtocol.VmCreated>(Patience);

        manager.Tell(new VmManagerProtocol.CreateVm(definition), TestActor);
        Assert.Contains("already exists", ExpectMsg<VmManagerProtocol.VmRejected>(Patience).Reason, StringComparison.Ordinal);
        manager.Tell(new VmManagerProtocol.CreateVm(definition with { Name = "bad", VcpuCount = 0 }), TestActor);
        Assert.Contains("vCPUs", ExpectMsg<VmManagerProtocol.VmRejected>(Patience).Reason, StringComparison.Ordinal);
        manager.Tell(new VmManagerProtocol.ToVm("missing", VmProtocol.Pause.Instance), TestActor);
        Assert.Equal("missing", ExpectMsg<VmManagerProtocol.VmNotFound>(Patience).Name);
        manager.Tell(new VmManagerProtocol.RemoveVm("only"), TestActor);
        ExpectMsg<VmManagerProtocol.VmRemoved>(Patience);
        manager.Tell(VmManagerProtocol.ListVms.Instance, TestActor);
        Assert.Empty(ExpectMsg<VmManagerProtocol.VmList>(Patience).Vms);
    }

    [Fact]
    public void Vm_whose_backend_fails_to_create_is_listed_as_failed_and_others_still_start()
    {
        using var hypervisor = new ThrowingForOneHypervisor("broken");
        var manager = Sys.ActorOf(VmManager.Props(hypervisor));

        manager.Tell(new VmManagerProtocol.CreateVm(new VmDefinition("broken", MemorySize, 1, null, [], ConsoleTarget.None, Platform: NoPlatform.Instance)), TestActor);
        ExpectMsg<VmManagerProtocol.VmCreated>(Patience);
        manager.Tell(new VmManagerProtocol.CreateVm(new VmDefinition("fine", MemorySize, 1, null, [], ConsoleTarget.None, Platform: NoPlatform.Instance)), TestActor);
        ExpectMsg<VmManagerProtocol.VmCreated>(Patience);

        AwaitAssert(() =>
        {
            manager.Tell(VmManagerProtocol.ListVms.Instance, TestActor);
            var vms = ExpectMsg<VmManagerProtocol.VmList>(Patience).Vms.ToDictionary(v => v.Name);
            Assert.Equal(VmExitReason.Failed, vms["broken"].Exit?.Reason);
            Assert.Equal(VmState.Running, vms["fine"].State);
        }, Patience);
    }

    private sealed class ThrowingForOneHypervisor(string failingName) : IHypervisor
    {
        private readonly FakeHypervisor _inner = new(_ => _ => VcpuExit.Halted);

        public string Name => "fake";

        public IVirtualMachine CreateVm(VmSpec spec) =>
            spec.Name == failingName ? throw new InvalidOperationException("backend refused the VM") : _inner.CreateVm(spec);

        public void Dispose() => _inner.Dispose();
    }
}
