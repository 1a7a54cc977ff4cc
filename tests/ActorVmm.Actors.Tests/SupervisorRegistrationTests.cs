using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Devices;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

public sealed class SupervisorRegistrationTests(ITestOutputHelper output) : ActorVmmTestKit(output), IDisposable
{
    private const ushort FlakyPort = 0x80;
    private const ushort OtherPort = 0x90;
    private const ushort FreePort = 0x100;
    private const ushort ConsolePort = 0x3F8;
    private const ushort InsideConsolePort = 0x3FB;
    private const ulong MemorySize = 64 * 1024;

    private readonly FakeVirtualMachine _vm = new(new VmSpec("reg", MemorySize), _ => VcpuExit.Halted);

    void IDisposable.Dispose() => _vm.Dispose();

    private Akka.Actor.IActorRef NewSupervisor() =>
        Sys.ActorOf(DeviceSupervisor.Props(_vm.Dispatcher, _vm.Traps.ClaimWriter(), DeviceEnvironments.For(_vm)));

    [Fact]
    public void Added_device_has_its_declared_regions_registered_and_handling_traps()
    {
        var supervisor = NewSupervisor();
        var log = new InstanceLog();

        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("flaky", FlakyPort, log)), TestActor);

        var added = ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);
        var region = Assert.Single(added.Regions);
        Assert.Equal(TrapBus.Pio, region.Bus);
        Assert.Equal(FlakyPort, region.Base);
        Assert.Equal((ulong)log.Created, ReadPort(FlakyPort));
    }

    [Fact]
    public void Overlapping_device_is_rejected_with_a_reply_naming_the_conflicting_region()
    {
        var supervisor = NewSupervisor();
        supervisor.Tell(new SupervisorProtocol.AddDevice(TestConsoleDevice.Definition(ConsolePort)), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);

        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("intruder", InsideConsolePort, new InstanceLog())), TestActor);

        var rejected = ExpectMsg<SupervisorProtocol.DeviceRejected>(Patience);
        Assert.Equal("intruder", rejected.Name);
        Assert.NotNull(rejected.ConflictsWith);
        Assert.Contains("'console'", rejected.ConflictsWith, StringComparison.Ordinal);
        Assert.Contains("0x3F8", rejected.ConflictsWith, StringComparison.Ordinal);
        Assert.Contains("overlaps", rejected.Reason, StringComparison.Ordinal);
        Assert.Single(_vm.Traps.Regions(TrapBus.Pio));
    }

    [Fact]
    public void Device_with_a_duplicate_name_is_rejected_and_the_first_keeps_its_regions()
    {
        var supervisor = NewSupervisor();
        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("twin", FlakyPort, new InstanceLog())), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);

        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("twin", OtherPort, new InstanceLog())), TestActor);

        var rejected = ExpectMsg<SupervisorProtocol.DeviceRejected>(Patience);
        Assert.Contains("already exists", rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(FlakyPort, Assert.Single(_vm.Traps.Regions(TrapBus.Pio)).Base);
    }

    [Fact]
    public void Region_requested_by_message_is_registered_and_an_overlapping_request_names_the_conflict()
    {
        var supervisor = NewSupervisor();
        TrapHandler handler = access => access.SetValue(0);

        supervisor.Tell(new SupervisorProtocol.RegisterRegion("bar0", new DeviceRegion(TrapBus.Pio, FreePort, 4), handler), TestActor);
        var registered = ExpectMsg<SupervisorProtocol.RegionRegistered>(Patience);
        supervisor.Tell(new SupervisorProtocol.RegisterRegion("bar1", new DeviceRegion(TrapBus.Pio, FreePort + 2, 4), handler), TestActor);

        var rejected = ExpectMsg<SupervisorProtocol.RegionRejected>(Patience);
        Assert.NotNull(_vm.Traps.Find(registered.Handle));
        Assert.Contains("'bar0'", rejected.ConflictsWith, StringComparison.Ordinal);
    }

    [Fact]
    public void Region_moves_to_a_free_base_and_a_move_onto_another_region_is_rejected_naming_it()
    {
        var supervisor = NewSupervisor();
        TrapHandler handler = access => access.SetValue(0);
        supervisor.Tell(new SupervisorProtocol.RegisterRegion("bar0", new DeviceRegion(TrapBus.Pio, FreePort, 4), handler), TestActor);
        var bar0 = ExpectMsg<SupervisorProtocol.RegionRegistered>(Patience).Handle;
        supervisor.Tell(new SupervisorProtocol.RegisterRegion("bar1", new DeviceRegion(TrapBus.Pio, OtherPort, 4), handler), TestActor);
        ExpectMsg<SupervisorProtocol.RegionRegistered>(Patience);

        const ushort newBase = FreePort + 0x10;
        supervisor.Tell(new SupervisorProtocol.MoveRegion(bar0, newBase), TestActor);
        ExpectMsg<SupervisorProtocol.RegionMoved>(Patience);
        Assert.Equal(newBase, _vm.Traps.Find(bar0)!.Base);

        supervisor.Tell(new SupervisorProtocol.MoveRegion(bar0, OtherPort + 1), TestActor);
        var rejected = ExpectMsg<SupervisorProtocol.RegionRejected>(Patience);
        Assert.Contains("'bar1'", rejected.ConflictsWith, StringComparison.Ordinal);
        Assert.Equal(newBase, _vm.Traps.Find(bar0)!.Base);
    }

    [Fact]
    public void Unregistered_region_is_gone_and_unregistering_it_again_is_rejected()
    {
        var supervisor = NewSupervisor();
        supervisor.Tell(new SupervisorProtocol.RegisterRegion("bar0", new DeviceRegion(TrapBus.Pio, FreePort, 4), access => access.SetValue(0)), TestActor);
        var handle = ExpectMsg<SupervisorProtocol.RegionRegistered>(Patience).Handle;

        supervisor.Tell(new SupervisorProtocol.UnregisterRegion(handle), TestActor);
        ExpectMsg<SupervisorProtocol.RegionUnregistered>(Patience);
        supervisor.Tell(new SupervisorProtocol.UnregisterRegion(handle), TestActor);

        var rejected = ExpectMsg<SupervisorProtocol.RegionRejected>(Patience);
        Assert.Contains("not registered", rejected.Reason, StringComparison.Ordinal);
        Assert.Null(_vm.Traps.Find(handle));
    }

    [Fact]
    public void Device_region_cannot_be_unregistered_by_handle_but_removing_the_device_frees_it()
    {
        var supervisor = NewSupervisor();
        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("flaky", FlakyPort, new InstanceLog())), TestActor);
        var handle = ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience).Regions[0].Handle;

        supervisor.Tell(new SupervisorProtocol.UnregisterRegion(handle), TestActor);
        Assert.Contains("belongs to device 'flaky'", ExpectMsg<SupervisorProtocol.RegionRejected>(Patience).Reason, StringComparison.Ordinal);

        supervisor.Tell(new SupervisorProtocol.RemoveDevice("flaky"), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceRemoved>(Patience);
        Assert.Empty(_vm.Traps.Regions(TrapBus.Pio));
    }

    [Fact]
    public void Device_whose_factory_throws_is_rejected_with_the_reason_and_leaves_nothing_registered()
    {
        var supervisor = NewSupervisor();
        var broken = new DeviceDefinition("broken", _ => throw new InvalidOperationException("no such chip"));

        supervisor.Tell(new SupervisorProtocol.AddDevice(broken), TestActor);

        var rejected = ExpectMsg<SupervisorProtocol.DeviceRejected>(Patience);
        Assert.Equal("broken", rejected.Name);
        Assert.Contains("no such chip", rejected.Reason, StringComparison.Ordinal);
        Assert.Empty(_vm.Traps.Regions(TrapBus.Pio));
    }

    private ulong ReadPort(ushort port)
    {
        Span<byte> data = [0];
        _vm.Dispatcher.Dispatch(0, TrapBus.Pio, port, TrapDirection.Read, data);
        return data[0];
    }
}
