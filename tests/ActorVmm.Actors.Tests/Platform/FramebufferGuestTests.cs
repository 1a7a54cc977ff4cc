using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices.Framebuffer;
using ActorVmm.Devices.Platforms;
using ActorVmm.Emulator;
using ActorVmm.Machine.Layout;
using ActorVmm.TestGuests;
using ActorVmm.TestSupport.Pci;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests.Platform;

/// <summary>
/// The framebuffer through the actor stack on the emulator: a guest draws, the VM actor copies the frame after the
/// vCPUs stop (<see cref="VmDefinition.CaptureFinalFrame"/>), and a running VM's frame is captured by name.
/// </summary>
public sealed class FramebufferGuestTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const ulong MemorySize = 1024 * 1024;
    private const uint Background = 0x0000_2000;
    private static readonly FramebufferMode Mode = new(64, 48);
    private static readonly FramebufferGuest.Rectangle Box = new(8, 4, 16, 10, 0x00AB_CDEF);
    private static readonly TimeSpan GuestPatience = TimeSpan.FromSeconds(60);
    private static readonly IPlatform WithFramebuffer = new X86Platform(X86PlatformOptions.Default with { Framebuffer = Mode });

    [Fact]
    public void The_exit_answer_carries_the_frame_the_guest_left()
    {
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define("fb-exit", haltWhenDrawn: false, WithFramebuffer) with { CaptureFinalFrame = true }, hypervisor);

        var exited = AwaitExit(vm);

        Assert.Equal(VmExitReason.ExitPort, exited.Exit.Reason);
        var frame = Assert.IsType<FramebufferProtocol.Frame>(exited.FinalFrame);
        AssertBox(frame);
    }

    [Fact]
    public void Beside_another_PCI_device_the_guest_finds_the_framebuffer_on_bus_0_moves_its_BAR_and_draws_there()
    {
        var platform = new X86Platform(X86PlatformOptions.Default with { Framebuffer = Mode, PciDevices = [PciEchoDevice.Definition()] });
        using var hypervisor = new EmulatorHypervisor();
        ulong moved = X86MemoryMap.PciMmioBase + (16UL << 20);
        var vm = StartVm(Define("fb-pci", haltWhenDrawn: false, platform, moveBarTo: moved) with { CaptureFinalFrame = true }, hypervisor);

        var exited = AwaitExit(vm);

        Assert.Equal((VmExitReason.ExitPort, 0), (exited.Exit.Reason, exited.Exit.ExitCode));
        AssertBox(Assert.IsType<FramebufferProtocol.Frame>(exited.FinalFrame));
    }

    [Fact]
    public void A_running_vm_s_frame_is_captured_by_device_name_and_the_vm_keeps_running()
    {
        var console = new CollectingStream();
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define("fb-live", haltWhenDrawn: true, WithFramebuffer, console), hypervisor);
        AwaitCondition(() => System.Text.Encoding.ASCII.GetString(console.Bytes) == FramebufferGuest.DrawnMarker, GuestPatience);

        vm.Tell(new SupervisorProtocol.SendToDevice(FramebufferDevice.DeviceName, FramebufferProtocol.Capture.Instance), TestActor);
        var frame = ExpectMsg<FramebufferProtocol.Frame>(Patience);

        AssertBox(frame);
        vm.Tell(VmProtocol.GetStatus.Instance, TestActor);
        Assert.Equal(VmState.Running, ExpectMsg<VmProtocol.VmStatus>(Patience).State);
        vm.Tell(VmProtocol.Stop.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
    }

    [Fact]
    public void On_a_vm_without_a_framebuffer_the_guest_finds_none_on_bus_0()
    {
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define("fb-absent", haltWhenDrawn: true, X86Platform.Default), hypervisor);

        var exited = AwaitExit(vm);

        Assert.Equal((VmExitReason.ExitPort, (int)FramebufferGuest.NotFoundStatus), (exited.Exit.Reason, exited.Exit.ExitCode));
    }

    [Fact]
    public void A_vm_without_a_framebuffer_has_no_final_frame_and_refuses_a_capture()
    {
        using var hypervisor = new EmulatorHypervisor();
        var vm = StartVm(Define("no-fb", haltWhenDrawn: true, X86Platform.Default) with { Boot = IoGuests.HaltForever(), CaptureFinalFrame = true }, hypervisor);

        vm.Tell(new SupervisorProtocol.SendToDevice(FramebufferDevice.DeviceName, FramebufferProtocol.Capture.Instance), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceNotFound>(Patience);
        vm.Tell(VmProtocol.Stop.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);

        Assert.Null(AwaitExit(vm).FinalFrame);
    }

    private static VmDefinition Define(string name, bool haltWhenDrawn, IPlatform platform, CollectingStream? console = null, ulong? moveBarTo = null)
    {
        byte[] image = FramebufferGuest.Build(Mode.Width, Mode.Height, Background, [Box], haltWhenDrawn, moveBarTo);
        var sink = console ?? new CollectingStream();
        return new(name, MemorySize, 1, image, [], new ConsoleTarget("memory", () => sink), Platform: platform);
    }

    private static void AssertBox(FramebufferProtocol.Frame frame)
    {
        Assert.Equal((Mode.Width, Mode.Height), (frame.Width, frame.Height));
        Assert.Equal(Box.Colour, frame.PixelAt(Box.X, Box.Y));
        Assert.Equal(Box.Colour, frame.PixelAt(Box.X + Box.Width - 1, Box.Y + Box.Height - 1));
        Assert.Equal(Background, frame.PixelAt(Box.X + Box.Width, Box.Y));
        Assert.Equal(Background, frame.PixelAt(0, 0));
    }

    private IActorRef StartVm(VmDefinition definition, EmulatorHypervisor hypervisor)
    {
        var vm = Sys.ActorOf(VmActor.Props(definition, hypervisor), definition.Name);
        vm.Tell(VmProtocol.Start.Instance, TestActor);
        ExpectMsg<VmProtocol.CommandAccepted>(Patience);
        return vm;
    }

    private VmProtocol.Exited AwaitExit(IActorRef vm)
    {
        vm.Tell(VmProtocol.AwaitExit.Instance, TestActor);
        return ExpectMsg<VmProtocol.Exited>(GuestPatience);
    }
}
