using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

public sealed class SupervisorRestartTests(ITestOutputHelper output) : ActorVmmTestKit(output), IDisposable
{
    private const ushort FlakyPort = 0x80;
    private const ushort SteadyPort = 0x90;
    private const ushort ConsolePort = 0x3F8;
    private const ulong MemorySize = 64 * 1024;
    private const byte EmptyBus = 0xFF;
    private const byte OrdinaryValue = 0x42;
    private const int FirstIncarnation = 1;
    private const int SecondIncarnation = 2;
    private const int MaxRestarts = 2;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly FakeVirtualMachine _vm = new(new VmSpec("restart", MemorySize), _ => VcpuExit.Halted);
    private readonly CapturingLoggerFactory _logs = new();

    void IDisposable.Dispose() => _vm.Dispose();

    private IActorRef NewSupervisor(int maxRestarts = MaxRestarts) =>
        Sys.ActorOf(DeviceSupervisor.Props(_vm.Dispatcher, _vm.Traps.ClaimWriter(), DeviceEnvironments.For(_vm), new SupervisionSettings(maxRestarts, Window), _logs));

    private (IActorRef Supervisor, RegionHandle Handle, InstanceLog Log) AddFlaky(int maxRestarts = MaxRestarts)
    {
        var supervisor = NewSupervisor(maxRestarts);
        var log = new InstanceLog();
        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("flaky", FlakyPort, log)), TestActor);
        var added = ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);
        Sys.EventStream.Subscribe(TestActor, typeof(SupervisorProtocol.DeviceRestarted));
        Sys.EventStream.Subscribe(TestActor, typeof(SupervisorProtocol.DeviceFailed));
        return (supervisor, added.Regions[0].Handle, log);
    }

    [Fact]
    public async Task Slow_path_exception_restarts_the_device_with_a_fresh_instance_behind_the_same_actor_ref_and_its_region_repointed()
    {
        var (supervisor, handle, log) = AddFlaky();
        var deviceRef = await Sys.ActorSelection(supervisor.Path / "flaky").ResolveOne(Patience);
        Assert.Equal(FirstIncarnation, Read(FlakyPort));

        supervisor.Tell(new SupervisorProtocol.SendToDevice("flaky", FlakyDevice.Explode.Instance), TestActor);

        var restarted = ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience);
        Assert.Equal(1, restarted.Restarts);
        Assert.Equal(SecondIncarnation, log.Created);
        Assert.Equal(SecondIncarnation, Read(FlakyPort));
        Assert.False(_vm.Traps.Find(handle)!.IsQuarantined);
        deviceRef.Tell(FlakyDevice.WhoAreYou.Instance, TestActor);
        Assert.Equal(SecondIncarnation, ExpectMsg<int>(Patience));
    }

    [Fact]
    public void Hot_path_exception_on_a_vcpu_restarts_the_device_and_repoints_its_region_at_the_fresh_instance()
    {
        var (_, handle, log) = AddFlaky();

        var outcome = Write(FlakyPort, FlakyDevice.ThrowValue);

        Assert.Equal(DispatchOutcome.Faulted, outcome);
        ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience);
        Assert.Equal(SecondIncarnation, log.Created);
        Assert.False(_vm.Traps.Find(handle)!.IsQuarantined);
        Assert.Equal(SecondIncarnation, Read(FlakyPort));
        Assert.Equal(DispatchOutcome.Handled, Write(FlakyPort, OrdinaryValue));
    }

    [Fact]
    public void Hot_path_restart_rebuilds_the_device_from_its_last_state_and_says_so()
    {
        var (supervisor, _, _) = AddFlaky();
        Write(FlakyPort, OrdinaryValue);

        Write(FlakyPort, FlakyDevice.ThrowValue);

        var restarted = ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience);
        Assert.True(restarted.FromState, restarted.Detail);
        Assert.Contains("last state", restarted.Detail, StringComparison.Ordinal);
        supervisor.Tell(new SupervisorProtocol.SendToDevice("flaky", FlakyDevice.WhatWasWritten.Instance), TestActor);
        Assert.Equal(OrdinaryValue, ExpectMsg<int>(Patience));
    }

    [Fact]
    public void A_state_that_fails_validation_restarts_the_device_from_power_on_and_the_event_says_why()
    {
        var (supervisor, _, _) = AddFlaky();
        Write(FlakyPort, FlakyDevice.CorruptStateValue);

        Write(FlakyPort, FlakyDevice.ThrowValue);

        var restarted = ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience);
        Assert.False(restarted.FromState);
        Assert.Contains("power-on", restarted.Detail, StringComparison.Ordinal);
        Assert.Contains(nameof(ActorVmm.Devices.DeviceStateException), restarted.Detail, StringComparison.Ordinal);
        supervisor.Tell(new SupervisorProtocol.SendToDevice("flaky", FlakyDevice.WhatWasWritten.Instance), TestActor);
        Assert.Equal(FlakyDevice.NothingWritten, ExpectMsg<int>(Patience));
    }

    [Fact]
    public void Device_failing_past_its_restart_limit_is_marked_failed_and_its_region_stays_quarantined_while_others_work()
    {
        var (supervisor, handle, log) = AddFlaky();
        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("steady", SteadyPort, new InstanceLog())), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);

        for (int i = 0; i < MaxRestarts; i++)
        {
            Write(FlakyPort, FlakyDevice.ThrowValue);
            ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience);
        }

        Write(FlakyPort, FlakyDevice.ThrowValue);

        var failed = ExpectMsg<SupervisorProtocol.DeviceFailed>(Patience);
        Assert.Equal("flaky", failed.DeviceName);
        Assert.True(_vm.Traps.Find(handle)!.IsQuarantined);
        Assert.Equal(MaxRestarts + 1, log.Created);
        supervisor.Tell(SupervisorProtocol.GetDevices.Instance, TestActor);
        var report = ExpectMsg<SupervisorProtocol.DeviceReport>(Patience);
        var flaky = report.Devices.Single(d => d.Name == "flaky");
        Assert.Equal(DeviceLifecycle.Failed, flaky.State);
        Assert.Equal(MaxRestarts, flaky.Restarts);
        Assert.Equal(MaxRestarts, report.Restarts);
        Assert.Equal(1, report.Quarantines);
        Assert.Equal(DeviceLifecycle.Running, report.Devices.Single(d => d.Name == "steady").State);
        Assert.Equal(FirstIncarnation, Read(SteadyPort));
    }

    [Fact]
    public async Task Quarantined_region_seen_from_a_running_vcpu_reads_all_ones_drops_writes_and_counts_them()
    {
        const int AccessesPerKind = 3;
        var reads = new System.Collections.Concurrent.ConcurrentQueue<byte>();
        var gate = new ManualResetEventSlim();
        using var vm = new FakeVirtualMachine(new VmSpec("quarantine", MemorySize), step =>
        {
            if (!gate.IsSet)
            {
                return VcpuExit.Halted;
            }

            for (int i = 0; i < AccessesPerKind; i++)
            {
                reads.Enqueue(step.In(FlakyPort));
                step.Out(FlakyPort, OrdinaryValue);
            }

            return new VcpuExit(VcpuExitReason.Shutdown, "done");
        });
        var supervisor = Sys.ActorOf(DeviceSupervisor.Props(vm.Dispatcher, vm.Traps.ClaimWriter(), DeviceEnvironments.For(vm), new SupervisionSettings(0, Window), _logs));
        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("flaky", FlakyPort, new InstanceLog())), TestActor);
        var handle = ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience).Regions[0].Handle;
        Sys.EventStream.Subscribe(TestActor, typeof(SupervisorProtocol.DeviceFailed));
        vm.Dispatcher.Dispatch(0, TrapBus.Pio, FlakyPort, TrapDirection.Write, [FlakyDevice.ThrowValue]);
        ExpectMsg<SupervisorProtocol.DeviceFailed>(Patience);
        var before = vm.Traps.Find(handle)!.Counters.Snapshot();

        var vcpu = (VcpuThread)vm.Vcpus[0];
        vcpu.Start();
        gate.Set();
        vcpu.Wake();
        var exit = await vcpu.Completion.WaitAsync(Patience);

        Assert.Equal(VcpuExitReason.Shutdown, exit.Reason);
        Assert.All(reads, value => Assert.Equal(EmptyBus, value));
        Assert.Equal(AccessesPerKind, reads.Count);
        var after = vm.Traps.Find(handle)!.Counters.Snapshot();
        Assert.Equal(2 * AccessesPerKind, after.Dropped - before.Dropped);
        Assert.Equal(before.Reads, after.Reads);
        Assert.Equal(before.Writes, after.Writes);
    }

    [Fact]
    public void Restart_and_quarantine_are_logged_with_device_region_and_exception_as_structured_properties()
    {
        var (_, _, _) = AddFlaky(maxRestarts: 1);

        Write(FlakyPort, FlakyDevice.ThrowValue);
        ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience);
        Write(FlakyPort, FlakyDevice.ThrowValue);
        ExpectMsg<SupervisorProtocol.DeviceFailed>(Patience);

        var restart = _logs.Entries.Single(e => e.Level == LogLevel.Warning && e.Properties.ContainsKey("Restart"));
        Assert.Equal("flaky", restart.Properties["Device"]);
        Assert.Contains("0x80", restart.Properties["Region"]?.ToString(), StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(restart.Exception);
        var quarantine = _logs.Entries.Single(e => e.Level == LogLevel.Error && e.Properties.ContainsKey("Regions"));
        Assert.Equal("flaky", quarantine.Properties["Device"]);
        Assert.Contains("0x80", quarantine.Properties["Region"]?.ToString(), StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(quarantine.Exception);
    }

    [Fact]
    public void Input_waiting_for_the_guest_survives_a_device_restart_and_is_read_exactly_once_in_order()
    {
        byte[] typed = "hello, guest"u8.ToArray();
        const int ReadBeforeCrash = 5;
        var supervisor = NewSupervisor();
        supervisor.Tell(new SupervisorProtocol.AddDevice(TestConsoleDevice.Definition(ConsolePort)), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);
        Sys.EventStream.Subscribe(TestActor, typeof(SupervisorProtocol.DeviceRestarted));
        supervisor.Tell(new SupervisorProtocol.SendToDevice("console", new ConsoleProtocol.Input(typed)), TestActor);
        ExpectMsg<ConsoleProtocol.InputAccepted>(Patience);
        AwaitAssert(() => Assert.Equal(TestConsoleDevice.DataReady, Read(ConsolePort + TestConsoleDevice.LineStatusOffset) & TestConsoleDevice.DataReady), Patience);

        var received = new List<byte>();
        for (int i = 0; i < ReadBeforeCrash; i++)
        {
            received.Add((byte)Read(ConsolePort + TestConsoleDevice.DataOffset));
        }

        Write((ushort)(ConsolePort + TestConsoleDevice.CrashOffset), OrdinaryValue);
        ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience);
        while ((Read(ConsolePort + TestConsoleDevice.LineStatusOffset) & TestConsoleDevice.DataReady) != 0)
        {
            received.Add((byte)Read(ConsolePort + TestConsoleDevice.DataOffset));
        }

        Assert.Equal(typed, received);
    }

    [Fact]
    public void Restart_window_allows_max_restarts_within_the_window_and_forgets_restarts_older_than_it()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        var window = new RestartWindow(MaxRestarts, Window, clock);

        for (int i = 0; i < MaxRestarts; i++)
        {
            Assert.True(window.TryRestart());
        }

        Assert.False(window.TryRestart());
        clock.Advance(Window);
        Assert.True(window.TryRestart());
        Assert.Equal(MaxRestarts + 1, window.TotalRestarts);
    }

    private int Read(ulong port)
    {
        Span<byte> data = [0];
        _vm.Dispatcher.Dispatch(0, TrapBus.Pio, port, TrapDirection.Read, data);
        return data[0];
    }

    private DispatchOutcome Write(ushort port, byte value)
    {
        Span<byte> data = [value];
        return _vm.Dispatcher.Dispatch(0, TrapBus.Pio, port, TrapDirection.Write, data);
    }
}
