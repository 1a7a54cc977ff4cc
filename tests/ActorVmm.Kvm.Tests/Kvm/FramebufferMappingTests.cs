using ActorVmm.Devices;
using ActorVmm.Devices.Framebuffer;
using ActorVmm.Devices.Pci;
using ActorVmm.Emulator;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;
using ActorVmm.TestSupport;

namespace ActorVmm.Kvm.Tests.Kvm;

/// <summary>
/// The framebuffer's memory is guest RAM wherever its BAR is: a guest finds the function on PCI bus 0 (host bridge and
/// framebuffer registered as the platform adds them), moves its BAR through 0xCF8/0xCFC and draws at the new address
/// with no MMIO exit at all; the old address no longer reaches it, and the frame the host copies has the pixels — on the
/// emulator (its own region table) and on KVM (a memory slot moved by KVM_SET_USER_MEMORY_REGION).
/// </summary>
public sealed class FramebufferMappingTests
{
    private const ulong RamSize = 16UL << 20;
    private const uint Background = 0x0000_0040;
    private const uint Colour = 0x00C0_FFEE;
    private static readonly FramebufferMode Mode = new(320, 200);
    private static readonly FramebufferGuest.Rectangle Square = new(100, 50, 30, 30, Colour);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void On_the_emulator_a_guest_draws_into_a_framebuffer_it_moved_on_the_PCI_bus_without_an_exit()
    {
        using var emulator = new EmulatorHypervisor();

        AssertDrawsWithoutExits(emulator);
    }

    [KvmFact]
    public void On_KVM_a_guest_draws_into_a_framebuffer_it_moved_on_the_PCI_bus_without_an_exit()
    {
        using var kvm = new KvmHypervisor();

        AssertDrawsWithoutExits(kvm);
    }

    private static void AssertDrawsWithoutExits(IHypervisor hypervisor)
    {
        using var vm = hypervisor.CreateVm(new VmSpec($"fb-{hypervisor.Name}", RamSize));
        var device = AttachPci(vm, out var bus);
        ulong moved = X86MemoryMap.PciMmioBase;
        var vcpu = vm.Vcpus[0];
        int? status = null;
        bus.Writer.Register(TrapBus.Pio, GuestAssembler.ExitPort, 1, access =>
        {
            status = (int)(access.Value & 0xFF);
            vcpu.Stop(TimeSpan.Zero);
        }, name: "exit");
        bus.Writer.Register(TrapBus.Pio, Guests.Com1, 1, _ => { }, name: "com1");
        var entry = FlatBinaryLoader.Load(vm.Memory, FramebufferGuest.Build(Mode.Width, Mode.Height, Background, [Square], moveBarTo: moved));

        vcpu.SetEntryState(entry);
        vcpu.Start();
        Assert.True(vcpu.Completion.Wait(Timeout), $"the guest did not finish on {hypervisor.Name}");

        Assert.Equal(0, status);
        Assert.Equal(moved, device.FrameAddress);
        Assert.False(vm.Memory.IsRam(X86MemoryMap.FramebufferBase, sizeof(uint)));
        Assert.Equal(0, vm.Dispatcher.Unhandled.Get(TrapBus.Mmio, TrapDirection.Write));
        Assert.Equal(0, vm.Dispatcher.Unhandled.Get(TrapBus.Mmio, TrapDirection.Read));
        var frame = device.CaptureFrame();
        Assert.Equal(Colour, frame.PixelAt(Square.X, Square.Y));
        Assert.Equal(Colour, frame.PixelAt(Square.X + Square.Width - 1, Square.Y + Square.Height - 1));
        Assert.Equal(Background, frame.PixelAt(Square.X - 1, Square.Y));
        Assert.Equal(Background, frame.PixelAt(Mode.Width - 1, Mode.Height - 1));
    }

    /// <summary>The host bridge and the framebuffer from the same <see cref="PciMachine"/> definitions the x86 platform adds, on the VM's trap table.</summary>
    private static FramebufferDevice AttachPci(IVirtualMachine vm, out DeviceBus bus)
    {
        bus = new DeviceBus(vm.Traps, vm.Dispatcher);
        var pci = new PciMachine(PciConfigWindows.For(vm.Layout.Map), PciBarWindows.X86(vm.Layout), intx: null, msiRoutes: null);
        var memory = vm.Memory.CreateDeviceRam(FramebufferDevice.DeviceName, Mode.BarSize);
        var environment = new DeviceEnvironment(vm.Name, vm.Interrupts.GetSource, TimeProvider.System, NullGuestOutput.Instance, new NoPower(), new GuestDma(vm.Memory));
        FramebufferDevice? framebuffer = null;
        foreach (var definition in new[] { pci.HostBridge(), pci.Add(FramebufferDevice.PciDefinition(Mode, memory, X86MemoryMap.FramebufferBase)) })
        {
            var regions = new DeviceRegionControls();
            var device = definition.Factory(new DeviceContext(definition.Name, environment, new NoMailbox(), new GuestInputQueue(), regions: regions));
            bus.Attach(device, regions);
            framebuffer ??= device as FramebufferDevice;
        }

        Assert.Equal(X86MemoryMap.FramebufferBase, framebuffer?.FrameAddress);
        return framebuffer!;
    }

    private sealed class NoPower : IVmPowerRequests
    {
        public void RequestReset(PowerRequestSource source)
        {
        }

        public void RequestStop(int exitStatus, PowerRequestSource source)
        {
        }
    }

    private sealed class NoMailbox : IDeviceMailbox
    {
        public void Post(object message)
        {
        }
    }
}
