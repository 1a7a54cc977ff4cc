using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices;
using ActorVmm.Devices.ExitPort;
using ActorVmm.Devices.Platforms;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Akka.Event;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

public sealed class VmActorTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const ulong MemorySize = 64 * 1024;
    private const byte GuestStatus = 42;
    private const byte StatusAfterReboot = 5;

    private static VmDefinition Define(string name, ResetAction onReset = ResetAction.Stop) =>
        new(name, MemorySize, 1, null, [], ConsoleTarget.None, onReset, Platform: NoPlatform.Instance);

    [Fact]
    public void Exit_port_write_stops_the_vm_with_the_written_status_as_exit_code()
    {
        using var hypervisor = new FakeHypervisor(_ => step =>
        {
            if (step.Step == 0)
            {
                step.Out(ExitPortDevice.Port, GuestStatus);
            }

            return VcpuExit.Halted;
        });
        var vm = Sys.ActorOf(VmActor.Props(Define("exit"), hypervisor));

        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);

        var exited = ExpectMsg<VmProtocol.Exited>(Patience);
        Assert.Equal(VmExitReason.ExitPort, exited.Exit.Reason);
        Assert.Equal(GuestStatus, exited.Exit.ExitCode);
        Assert.True(Assert.Single(hypervisor.Created).Disposed);
    }

    [Fact]
    public void A_vm_that_ended_unmaps_its_memory_and_lets_go_of_its_vcpus_and_trap_table_yet_still_reports_its_status()
    {
        const byte UnhandledPort = 0x99;
        using var hypervisor = new FakeHypervisor(_ => step =>
        {
            if (step.Step == 0)
            {
                step.Out(UnhandledPort, 1);
                step.Out(ExitPortDevice.Port, GuestStatus);
            }

            return VcpuExit.Halted;
        });
        var vm = Sys.ActorOf(VmActor.Props(Define("ended"), hypervisor));
        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);
        ExpectMsg<VmProtocol.Exited>(Patience);

        var (vcpu, dispatcher) = ForgetMachine(hypervisor);

        // The stopped VM actor is alive (it answers status) and is now the only thing that could hold them.
        AwaitCondition(() => !IsReachable(vcpu) && !IsReachable(dispatcher), Patience);
        var status = Status(vm);
        Assert.Equal(VmState.Stopped, status.State);
        Assert.Equal([VcpuRunState.Stopped], status.Vcpus);
        Assert.Equal(1, status.UnhandledPio);
    }

    // Checks the ended VM's guest memory is unmapped, then returns weak references to its vCPU and trap dispatcher and
    // drops the fake hypervisor's own references (a separate method: no local of the caller's keeps the machine alive).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (WeakReference Vcpu, WeakReference Dispatcher) ForgetMachine(FakeHypervisor hypervisor)
    {
        var machine = Assert.Single(hypervisor.Created);
        Assert.True(machine.Memory.IsClosed);
        Assert.Empty(machine.Memory.Regions);
        var refs = (new WeakReference(machine.Vcpus[0]), new WeakReference(machine.Dispatcher));
        hypervisor.Created.Clear();
        return refs;
    }

    private static bool IsReachable(WeakReference reference)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return reference.IsAlive;
    }

    [Fact]
    public void Vm_created_at_the_top_level_runs_to_its_exit_without_dead_letters()
    {
        // Without a VmManager parent there is nobody to tell about state changes; the user guardian
        // must not receive them as unhandled messages.
        var letters = CreateTestProbe();
        Sys.EventStream.Subscribe(letters.Ref, typeof(AllDeadLetters));
        using var hypervisor = new FakeHypervisor(_ => step =>
        {
            if (step.Step == 0)
            {
                step.Out(ExitPortDevice.Port, GuestStatus);
            }

            return VcpuExit.Halted;
        });
        var vm = Sys.ActorOf(VmActor.Props(Define("top-level"), hypervisor));

        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);
        ExpectMsg<VmProtocol.Exited>(Patience);

        AssertNoDeadLetterOfOurs(letters, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void Vm_goes_created_running_paused_running_stopped_and_rejects_commands_that_do_not_apply()
    {
        using var hypervisor = new FakeHypervisor(_ => _ => VcpuExit.Halted);
        var vm = Sys.ActorOf(VmActor.Props(Define("life"), hypervisor));

        vm.Tell(VmProtocol.Resume.Instance, TestActor);
        Assert.Equal(VmState.Created, ExpectMsg<VmProtocol.CommandRejected>(Patience).State);
        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        AwaitAssert(() => Assert.Equal(VmState.Running, Status(vm).State), Patience);
        vm.Tell(VmProtocol.Pause.Instance, TestActor);
        Assert.Equal(VmState.Paused, ExpectMsg<VmProtocol.CommandAccepted>(Patience).State);
        Assert.Equal(VcpuRunState.Paused, Assert.Single(Status(vm).Vcpus));
        vm.Tell(VmProtocol.Resume.Instance, TestActor);
        Assert.Equal(VmState.Running, ExpectMsg<VmProtocol.CommandAccepted>(Patience).State);
        vm.Tell(VmProtocol.Stop.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);

        var exited = ExpectMsg<VmProtocol.Exited>(Patience);
        Assert.Equal(VmExitReason.HostStop, exited.Exit.Reason);
        Assert.Equal(VmExit.Success, exited.Exit.ExitCode);
        vm.Tell(VmProtocol.Pause.Instance, TestActor);
        Assert.Equal(VmState.Stopped, ExpectMsg<VmProtocol.CommandRejected>(Patience).State);
    }

    [Theory]
    [InlineData(VcpuExitReason.Shutdown, VmExitReason.Shutdown, VmExit.Success)]
    [InlineData(VcpuExitReason.Reset, VmExitReason.Reset, VmExit.Success)]
    [InlineData(VcpuExitReason.InternalError, VmExitReason.InternalError, VmExit.SoftwareError)]
    public void Guest_ending_vcpu_exit_stops_the_vm_with_the_matching_reason_and_exit_code(VcpuExitReason vcpuExit, VmExitReason expectedReason, int expectedCode)
    {
        using var hypervisor = new FakeHypervisor(_ => _ => new VcpuExit(vcpuExit, "scripted"));
        var vm = Sys.ActorOf(VmActor.Props(Define("ending"), hypervisor));

        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);

        var exited = ExpectMsg<VmProtocol.Exited>(Patience);
        Assert.Equal(expectedReason, exited.Exit.Reason);
        Assert.Equal(expectedCode, exited.Exit.ExitCode);
    }

    [Fact]
    public void Guest_reset_with_reboot_configured_recreates_the_vm_and_runs_the_guest_again()
    {
        int boots = 0;
        using var hypervisor = new FakeHypervisor(_ =>
        {
            int boot = Interlocked.Increment(ref boots);
            return step =>
            {
                if (boot == 1)
                {
                    return new VcpuExit(VcpuExitReason.Reset, "guest reset");
                }

                if (step.Step == 0)
                {
                    step.Out(ExitPortDevice.Port, StatusAfterReboot);
                }

                return VcpuExit.Halted;
            };
        });
        var vm = Sys.ActorOf(VmActor.Props(Define("reboot", ResetAction.Reboot), hypervisor));

        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);

        var exited = ExpectMsg<VmProtocol.Exited>(Patience);
        Assert.Equal(VmExitReason.ExitPort, exited.Exit.Reason);
        Assert.Equal(StatusAfterReboot, exited.Exit.ExitCode);
        Assert.Equal(1, Status(vm).Reboots);
        Assert.Equal(2, hypervisor.Created.Count);
    }

    [Fact]
    public void Status_reports_devices_with_their_trap_counters_and_unhandled_accesses()
    {
        const ushort UnclaimedPort = 0x300;
        using var hypervisor = new FakeHypervisor(_ => step =>
        {
            if (step.Step == 0)
            {
                step.In(UnclaimedPort);
                step.Out(ExitPortDevice.Port, GuestStatus);
            }

            return VcpuExit.Halted;
        });
        var vm = Sys.ActorOf(VmActor.Props(Define("status"), hypervisor));
        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);
        ExpectMsg<VmProtocol.Exited>(Patience);

        var status = Status(vm);

        var exitPort = Assert.Single(status.Devices.Devices);
        Assert.Equal(ExitPortDevice.DeviceName, exitPort.Name);
        Assert.Equal(1, Assert.Single(exitPort.Regions).Counters.Writes);
        Assert.Equal(1, status.UnhandledPio);
        Assert.Equal(VmState.Stopped, status.State);
        Assert.Equal(GuestStatus, status.Exit?.ExitCode);
    }

    [Fact]
    public void Devices_reach_the_VM_s_RAM_through_their_context_DMA_and_the_VM_gets_its_platform_s_memory_map()
    {
        const uint Marker = 0xD0D0_CAFE;
        const ulong MarkerAddress = Arm64MemoryMap.RamBase + 0x1000;
        using var hypervisor = new FakeHypervisor(_ => _ => VcpuExit.Halted);
        var dmaDevice = new DeviceDefinition("dma", c =>
        {
            c.Dma.WriteUInt32(MarkerAddress, Marker);
            return new QuietDevice("dma");
        });
        var definition = Define("dma") with { Devices = [dmaDevice], Platform = Arm64Platform.Default };
        var vm = Sys.ActorOf(VmActor.Props(definition, hypervisor));

        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        AwaitAssert(() => Assert.Equal(VmState.Running, Status(vm).State), Patience);

        var created = Assert.Single(hypervisor.Created);
        Assert.Same(MemoryMap.Arm64, created.Layout.Map);
        Assert.Equal(Marker, created.Memory.Read<uint>(MarkerAddress));
        vm.Tell(VmProtocol.Stop.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
    }

    [Fact]
    public void A_device_in_the_middle_of_a_DMA_loop_while_the_VM_stops_ends_cleanly_and_the_memory_then_refuses_DMA()
    {
        using var hypervisor = new FakeHypervisor(_ => _ => VcpuExit.Halted);
        var loop = new DmaLoopDevice.Probe();
        var definition = Define("dma-loop") with { Devices = [DmaLoopDevice.Definition(loop)] };
        var vm = Sys.ActorOf(VmActor.Props(definition, hypervisor));
        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);

        vm.Tell(new SupervisorProtocol.SendToDevice(DmaLoopDevice.Name, DmaLoopDevice.Run.Instance), TestActor);
        AwaitCondition(() => loop.Iterations > DmaLoopDevice.IterationsBeforeStop, Patience);
        vm.Tell(VmProtocol.Stop.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);
        ExpectMsg<VmProtocol.Exited>(Patience);

        // The actor stopped before the memory was unmapped: its loop never met a closed memory or a host fault.
        Assert.Null(loop.Failure);
        Assert.True(Assert.Single(hypervisor.Created).Disposed);
        Assert.Throws<GuestMemoryClosedException>(() => loop.Dma!.WriteUInt32(DmaLoopDevice.Address, 0));
    }

    private VmProtocol.VmStatus Status(Akka.Actor.IActorRef vm)
    {
        vm.Tell(VmProtocol.GetStatus.Instance, TestActor);
        return ExpectMsg<VmProtocol.VmStatus>(Patience);
    }

    /// <summary>A device whose slow path copies into and out of guest RAM, one round per message, re-posting itself for ever.</summary>
    private sealed class DmaLoopDevice(DeviceContext context, DmaLoopDevice.Probe probe) : IDevice, ISlowPathDevice
    {
        public const string Name = "dma-loop";
        public const ulong Address = 0x2000;
        public const int IterationsBeforeStop = 100;

        string IDevice.Name => Name;

        public IReadOnlyList<DeviceRegion> Regions { get; } = [];

        public static DeviceDefinition Definition(Probe probe) => new(Name, c => new DmaLoopDevice(c, probe));

        public void HandleTrap(int region, TrapAccess access)
        {
        }

        public void Reset()
        {
        }

        public DeviceState CaptureState() => NoDeviceState.Instance;

        public object? OnSlowPath(object message)
        {
            if (message is not Run)
            {
                return DeviceSignals.NotUnderstood.Instance;
            }

            probe.Dma = context.Dma;
            try
            {
                uint value = (uint)probe.Iterations;
                context.Dma.WriteUInt32(Address, value);
                if (context.Dma.ReadUInt32(Address) != value)
                {
                    throw new InvalidOperationException("guest RAM did not keep what the device wrote");
                }

                Interlocked.Increment(ref probe.IterationCount);
                context.Post(Run.Instance);
            }
            catch (Exception ex)
            {
                probe.Failure = ex;
            }

            return null;
        }

        public sealed record Run
        {
            public static Run Instance { get; } = new();
        }

        public sealed class Probe
        {
            public int IterationCount;

            public int Iterations => Volatile.Read(ref IterationCount);

            public volatile Exception? Failure;

            public volatile ActorVmm.Machine.Memory.GuestDma? Dma;
        }
    }

    private sealed class QuietDevice(string name) : IDevice
    {
        public string Name => name;

        public IReadOnlyList<DeviceRegion> Regions { get; } = [];

        public void HandleTrap(int region, TrapAccess access)
        {
        }

        public void Reset()
        {
        }

        public DeviceState CaptureState() => NoDeviceState.Instance;
    }
}
