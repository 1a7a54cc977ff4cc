using System.Collections.Concurrent;
using System.Text;
using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Serial;
using ActorVmm.Emulator;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.TestGuests;
using Akka.Actor;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests.Platform;

/// <summary>
/// Guest programs on the emulator through the whole actor stack: a <see cref="VmActor"/> with its default platform
/// (nothing registered by hand except a port that records what the guest reports).
/// </summary>
public sealed class PlatformGuestTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const ulong MemorySize = 1024 * 1024;
    private const int Century = 100;
    private const string Greeting = "ping\n";
    private const string Reply = "pong\n";
    private const string Arm64Message = "hello from the arm64 layout\n";
    private static readonly TimeSpan GuestPatience = TimeSpan.FromSeconds(60);

    public static TheoryData<string> ComPorts => ["com1", "com2", "com3", "com4"];

    private static VmDefinition Define(string name, byte[] image, CollectingStream console, IReadOnlyList<DeviceDefinition>? devices = null, IPlatform? platform = null, ResetAction onReset = ResetAction.Stop) =>
        new(name, MemorySize, 1, image, devices ?? [], new ConsoleTarget("memory", () => console), onReset, Platform: platform);

    private IActorRef StartVm(VmDefinition definition, EmulatorHypervisor hypervisor, TimeProvider? time = null)
    {
        var vm = Sys.ActorOf(VmActor.Props(definition, hypervisor, time: time), definition.Name);
        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        return vm;
    }

    private VmExit AwaitExit(IActorRef vm)
    {
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);
        return ExpectMsg<VmProtocol.Exited>(GuestPatience).Exit;
    }

    [Theory]
    [MemberData(nameof(ComPorts))]
    public void Linux_8250_probe_identifies_each_default_com_port_as_a_16550A(string name)
    {
        var spec = SerialPortSpec.PcComPorts.Single(s => s.Name == name);
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define($"probe-{name}", DeviceGuests.Uart16550Probe((ushort)spec.Base), new CollectingStream()), hypervisor);

        var exit = AwaitExit(vm);

        Assert.Equal(VmExitReason.ExitPort, exit.Reason);
        Assert.Equal(DeviceGuests.ProbeIs16550A, exit.ExitCode);
    }

    [Fact]
    public void Guest_transmits_on_com1_then_receives_host_input_with_interrupts_and_echoes_it_to_the_console()
    {
        var console = new CollectingStream();
        var spec = X86Platform.ConsolePort;
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define("echo", DeviceGuests.UartEchoWithInterrupts(Greeting, (ushort)spec.Base, (byte)spec.Irq), console), hypervisor);
        AwaitCondition(() => Encoding.ASCII.GetString(console.Bytes) == Greeting, GuestPatience);

        vm.Tell(new SupervisorProtocol.SendToDevice(spec.Name, new ConsoleProtocol.Input(Encoding.ASCII.GetBytes(Reply))), TestActor);
        ExpectMsg<ConsoleProtocol.InputAccepted>(Patience);
        var exit = AwaitExit(vm);

        Assert.Equal(VmExitReason.ExitPort, exit.Reason);
        Assert.Equal(Reply.Length, exit.ExitCode);
        Assert.Equal(Greeting + Reply, Encoding.ASCII.GetString(console.Bytes));
    }

    [Fact]
    public void A_console_UART_that_fails_mid_session_keeps_its_divisor_LCR_and_IER_so_the_guest_keeps_getting_receive_interrupts()
    {
        var console = new CollectingStream();
        var spec = X86Platform.ConsolePort;
        var platform = new FaultInjectingPlatform(X86Platform.Default, spec.Name);
        Sys.EventStream.Subscribe(TestActor, typeof(SupervisorProtocol.DeviceRestarted));
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define("survivor", DeviceGuests.UartEchoWithInterrupts(Greeting, (ushort)spec.Base, (byte)spec.Irq), console, platform: platform), hypervisor);
        AwaitCondition(() => Encoding.ASCII.GetString(console.Bytes) == Greeting, GuestPatience);

        // The guest has programmed the divisor, LCR, FCR, MCR and IER and waits for a receive interrupt; the UART fails.
        vm.Tell(new SupervisorProtocol.SendToDevice(spec.Name, FailSlowPath.Instance), TestActor);
        var restarted = ExpectMsg<SupervisorProtocol.DeviceRestarted>(Patience);

        // Power-on state would have IER = 0: no receive interrupt, and the guest would wait for ever.
        vm.Tell(new SupervisorProtocol.SendToDevice(spec.Name, new ConsoleProtocol.Input(Encoding.ASCII.GetBytes(Reply))), TestActor);
        ExpectMsg<ConsoleProtocol.InputAccepted>(Patience);
        var exit = AwaitExit(vm);

        Assert.Equal(spec.Name, restarted.DeviceName);
        Assert.True(restarted.FromState, restarted.Detail);
        Assert.Equal(VmExitReason.ExitPort, exit.Reason);
        Assert.Equal(Reply.Length, exit.ExitCode);
        Assert.Equal(Greeting + Reply, Encoding.ASCII.GetString(console.Bytes));
    }

    [Fact]
    public void Guest_waits_for_UIP_to_clear_and_reads_the_fake_clock_in_BCD_from_the_default_RTC()
    {
        var (start, time) = JustBeforeASecondBoundary();
        var report = new ConcurrentQueue<ulong>();
        var polls = new ConcurrentQueue<ulong>();
        using var hypervisor = new EmulatorHypervisor();
        var definition = Define("rtc", TimerGuests.RtcReadTime(), new CollectingStream(), [ReportPort.Definition("report", TimerGuests.ReportPort, report), ReportPort.Definition("polls", TimerGuests.UipPollsPort, polls)]);
        var vm = StartVm(definition, hypervisor, time);

        var exit = AwaitExit(vm);

        Assert.Equal(VmExitReason.ExitPort, exit.Reason);
        Assert.Equal(VmExit.Success, exit.ExitCode);
        Assert.Equal(ExpectedRtcReport(start), report.ToArray());
        Assert.True(polls.TryDequeue(out ulong pollCount));
        Assert.True(pollCount > 1, $"the guest read register A {pollCount} time(s); UIP should have held it");
    }

    [Fact]
    public void PIT_IRQ0_routed_through_the_default_PIC_wakes_the_halted_vCPU_until_it_counted_its_ticks()
    {
        const ushort OneMillisecondCount = 1193;
        const ushort Ticks = 5;
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define("pit", TimerGuests.PitTicksWakeHaltedCpu(OneMillisecondCount, Ticks), new CollectingStream()), hypervisor);

        var exit = AwaitExit(vm);

        Assert.Equal(VmExitReason.ExitPort, exit.Reason);
        Assert.Equal(VmExit.Success, exit.ExitCode);
    }

    [Fact]
    public void I8042_self_test_passes_and_the_pulse_reset_stops_a_VM_configured_to_stop_on_reset()
    {
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define("kbc-stop", DeviceGuests.I8042SelfTestAndReset(), new CollectingStream()), hypervisor);

        var exit = AwaitExit(vm);

        Assert.Equal(VmExitReason.Reset, exit.Reason);
        Assert.Equal(VmExit.Success, exit.ExitCode);
    }

    [Fact]
    public void I8042_pulse_reset_reboots_a_VM_configured_to_reboot()
    {
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define("kbc-reboot", DeviceGuests.I8042SelfTestAndReset(), new CollectingStream(), onReset: ResetAction.Reboot), hypervisor);

        AwaitAssert(
            () =>
            {
                vm.Tell(VmProtocol.GetStatus.Instance, TestActor);
                Assert.True(ExpectMsg<VmProtocol.VmStatus>(Patience).Reboots >= 1);
            },
            GuestPatience);
        vm.Tell(VmProtocol.Stop.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        Assert.Equal(VmExitReason.HostStop, AwaitExit(vm).Reason);
    }

    [Fact]
    public void Arm64_layout_guest_drives_the_same_UART_and_RTC_classes_over_MMIO_at_their_16MiB_addresses()
    {
        var (start, time) = JustBeforeASecondBoundary();
        var console = new CollectingStream();
        var report = new ConcurrentQueue<ulong>();
        using var hypervisor = new EmulatorHypervisor();
        // The arm64 platform's devices, but RAM where the x86 interpreter's real-mode start needs it: the arm64 map puts
        // RAM at 2 GiB, out of reach of an x86 guest's first instruction. This guest's 1 MiB ends below the 16 MiB devices.
        var definition = Define("arm64", Arm64LayoutGuest.Build(Arm64Message), console, [ReportPort.Definition("report", TimerGuests.ReportPort, report)], Arm64Platform.Default)
            with { Map = MemoryMap.X86 };
        var vm = StartVm(definition, hypervisor, time);

        var exit = AwaitExit(vm);
        vm.Tell(VmProtocol.GetStatus.Instance, TestActor);
        var status = ExpectMsg<VmProtocol.VmStatus>(Patience);

        Assert.Equal(VmExitReason.ExitPort, exit.Reason);
        Assert.Equal(VmExit.Success, exit.ExitCode);
        Assert.Equal(Arm64Message, Encoding.ASCII.GetString(console.Bytes));
        Assert.Equal(ExpectedRtcReport(start), report.ToArray());
        var uart = Assert.Single(status.Devices.Devices.Single(d => d.Name == Arm64Platform.UartName).Regions);
        Assert.Equal((TrapBus.Mmio, Arm64LayoutGuest.UartBase), (uart.Bus, uart.Base));
        var rtc = Assert.Single(status.Devices.Devices.Single(d => d.Name == Arm64Platform.RtcName).Regions);
        Assert.Equal((TrapBus.Mmio, Arm64LayoutGuest.RtcBase), (rtc.Bus, rtc.Base));
    }

    /// <summary>150 µs before a second boundary: UIP is set, so the guest must poll until the update.</summary>
    private static (DateTimeOffset Start, FakeTimeProvider Time) JustBeforeASecondBoundary()
    {
        var start = new DateTimeOffset(2026, 11, 25, 14, 37, 59, TimeSpan.Zero).AddSeconds(1) - TimeSpan.FromMicroseconds(150);
        return (start, new FakeTimeProvider(start) { AutoAdvanceAmount = TimeSpan.FromMicroseconds(20) });
    }

    private static ulong[] ExpectedRtcReport(DateTimeOffset start)
    {
        var expected = start.UtcDateTime.AddSeconds(1);
        return [(ulong)expected.Second, (ulong)expected.Minute, (ulong)expected.Hour, (ulong)expected.Day, (ulong)expected.Month, (ulong)(expected.Year % Century), (ulong)(expected.Year / Century)];
    }
}

/// <summary>A test port that records every value the guest writes to it (a guest's report channel).</summary>
internal sealed class ReportPort(ushort port, ConcurrentQueue<ulong> writes, string name, ulong width) : IDevice
{
    public string Name => name;

    public IReadOnlyList<DeviceRegion> Regions { get; } = [new DeviceRegion(TrapBus.Pio, port, width)];

    /// <summary>A report port <paramref name="width"/> ports wide (a 32-bit OUT needs 4).</summary>
    public static DeviceDefinition Definition(string name, ushort port, ConcurrentQueue<ulong> writes, ulong width = sizeof(ushort)) =>
        new(name, _ => new ReportPort(port, writes, name, width));

    public void HandleTrap(int region, TrapAccess access)
    {
        if (access.IsWrite)
        {
            writes.Enqueue(access.Value);
        }
        else
        {
            access.SetValue(0);
        }
    }

    public void Reset()
    {
        // Stateless: the queue belongs to the test.
    }

    public DeviceState CaptureState() => NoDeviceState.Instance;
}
