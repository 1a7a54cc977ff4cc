using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Tests.Pci;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Devices.Vfio;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Tests.Vfio;

/// <summary>A passed-through device on the platform's PCI bus (<see cref="PciMachine"/>), as the x86 platform adds it.</summary>
public sealed class VfioPciAttachmentTests
{
    private const ulong RamSize = 1 << 20;
    private static readonly MemoryLayout Layout = MemoryMap.X86.Layout(RamSize);

    [Fact]
    public void On_the_platform_bus_the_device_gets_firmware_bars_and_its_mmapped_bar_is_a_memory_slot_from_power_on()
    {
        var device = FakeDevices.Edu();
        var host = new FakePassthroughHost { DmaWindows = [(0, 0x7000_0000, RamSize)] };
        using var attachment = new VfioPciAttachment("vfio0", device);
        var machine = Machine();

        var definition = machine.Add(attachment.Definition);
        var instance = (VfioPciDevice)definition.Factory(Context(host));

        var planned = Assert.Single(machine.Planned);
        Assert.Equal((FakeDevices.EduVendor, FakeDevices.EduDevice), (planned.Function.VendorId, planned.Function.DeviceId));
        Assert.Equal([planned.Bars[0]], host.Slots.Keys);
        Assert.Equal(new DeviceRegion(ActorVmm.Machine.Traps.TrapBus.Mmio, planned.Bars[0], FakeDevices.EduBar0Size, Enabled: true), instance.Regions[0]);
        Assert.Same(instance.Function, machine.Bus.Find(planned.Address));
        Assert.Equal([(0UL, (nint)0x7000_0000, RamSize)], device.DmaWindows);
    }

    [Fact]
    public void A_backend_without_passthrough_services_is_refused_by_name()
    {
        using var attachment = new VfioPciAttachment("vfio0", FakeDevices.Edu());
        var definition = Machine().Add(attachment.Definition);

        var error = Assert.Throws<InvalidOperationException>(() => definition.Factory(Context(host: null)));
        Assert.Contains("needs KVM", error.Message);
    }

    private static PciMachine Machine() => new(
        PciConfigWindows.For(MemoryMap.X86),
        PciBarWindows.X86(Layout),
        new PciIntxRouting(PciIntxRouting.X86IoApicGsis, new RecordingIntxLines().Connect),
        message => new FakeRoute(0, message));

    private static DeviceContext Context(FakePassthroughHost? host)
    {
        var environment = TestDeviceContext.Create("vfio0", TimeProvider.System).Environment with { Passthrough = host };
        return new DeviceContext("vfio0", environment, new NullMailbox(), new GuestInputQueue());
    }

    private sealed class NullMailbox : IDeviceMailbox
    {
        public void Post(object message)
        {
        }
    }
}
