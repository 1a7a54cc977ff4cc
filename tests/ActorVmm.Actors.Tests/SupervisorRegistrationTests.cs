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
    public void Device_moves_its_own_region_from_inside_its_handler_and_the_next_access_already_sees_it()
    {
        var supervisor = NewSupervisor();
        supervisor.Tell(new SupervisorProtocol.AddDevice(MovableDevice.Definition("mover", FreePort)), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);

        const ushort newBase = FreePort + 0x10;
        WritePort(FreePort + MovableDevice.MoveRegister, newBase);

        Assert.Equal(MovableDevice.Marker, ReadPort(newBase));
        Assert.Equal(ByteLanesEmptyBus, ReadPort(FreePort));
        Assert.Equal((ulong)newBase, Assert.Single(_vm.Traps.Regions(TrapBus.Pio)).Base);
    }

    [Fact]
    public void A_region_moved_onto_another_device_is_shadowed_until_that_device_is_removed()
    {
        var supervisor = NewSupervisor();
        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("flaky", FlakyPort, new InstanceLog())), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);
        supervisor.Tell(new SupervisorProtocol.AddDevice(MovableDevice.Definition("mover", FreePort)), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);

        // As a PCI BAR programmed onto another device's range: nothing throws, the first decoder keeps the range.
        WritePort(FreePort + MovableDevice.MoveRegister, FlakyPort);
        Assert.NotEqual(MovableDevice.Marker, ReadPort(FlakyPort));

        supervisor.Tell(new SupervisorProtocol.RemoveDevice("flaky"), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceRemoved>(Patience);
        Assert.Equal(MovableDevice.Marker, ReadPort(FlakyPort));
    }

    [Fact]
    public void Removing_a_device_frees_its_regions()
    {
        var supervisor = NewSupervisor();
        supervisor.Tell(new SupervisorProtocol.AddDevice(FlakyDevice.Definition("flaky", FlakyPort, new InstanceLog())), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);

        supervisor.Tell(new SupervisorProtocol.RemoveDevice("flaky"), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceRemoved>(Patience);
        supervisor.Tell(new SupervisorProtocol.RemoveDevice("flaky"), TestActor);

        ExpectMsg<SupervisorProtocol.DeviceNotFound>(Patience);
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

    private const ulong ByteLanesEmptyBus = ByteLanes.EmptyBus;

    private void WritePort(int port, ushort value)
    {
        Span<byte> data = BitConverter.GetBytes(value);
        _vm.Dispatcher.Dispatch(0, TrapBus.Pio, (ulong)port, TrapDirection.Write, data);
    }

    private ulong ReadPort(ushort port)
    {
        Span<byte> data = [0];
        _vm.Dispatcher.Dispatch(0, TrapBus.Pio, port, TrapDirection.Read, data);
        return data[0];
    }
}
