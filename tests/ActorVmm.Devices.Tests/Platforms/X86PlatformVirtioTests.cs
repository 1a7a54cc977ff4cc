using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Pci;
using ActorVmm.Devices.Virtio.Rng;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.TestSupport.Virtio;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Devices.Tests.Platforms;

/// <summary>The x86 platform's virtio devices: PCI functions by default; with the mmio transport one virtio-mmio window and free ISA line each.</summary>
public sealed class X86PlatformVirtioTests
{
    private static VirtioDeviceSpec Rng(string name) => new(name, VirtioDeviceType.Entropy, _ => new VirtioRng());

    [Fact]
    public void Virtio_devices_get_consecutive_windows_from_the_virtio_mmio_window_and_the_free_isa_lines()
    {
        var options = new X86PlatformOptions(Virtio: [Rng("rng-a"), Rng("rng-b")]) { VirtioTransport = VirtioTransportKind.Mmio };

        var definitions = X86Platform.VirtioDevices(options, NullLoggerFactory.Instance);

        Assert.Equal(["rng-a", "rng-b"], definitions.Select(d => d.Name));
        var regions = definitions.Select(Regions).ToArray();
        Assert.Equal(new DeviceRegion(TrapBus.Mmio, X86MemoryMap.VirtioMmioBase, VirtioMmioRegisters.WindowSize), regions[0]);
        Assert.Equal(new DeviceRegion(TrapBus.Mmio, X86MemoryMap.VirtioMmioBase + VirtioMmioRegisters.WindowSize, VirtioMmioRegisters.WindowSize), regions[1]);
        Assert.DoesNotContain(X86Platform.VirtioMmioIrqs, irq => irq is 0 or 1 or 2 or 3 or 4 or 8 or 12);
        Assert.Empty(X86Platform.VirtioMmioIrqs.Intersect(PciIntxRouting.X86PicIrqs));
    }

    [Fact]
    public void The_kernel_parameters_name_each_window_and_line_as_virtio_mmio_device()
    {
        string expected = $"virtio_mmio.device=512@0x{X86MemoryMap.VirtioMmioBase:x}:{X86Platform.VirtioMmioIrqs[0]} "
            + $"virtio_mmio.device=512@0x{X86MemoryMap.VirtioMmioBase + VirtioMmioRegisters.WindowSize:x}:{X86Platform.VirtioMmioIrqs[1]}";

        Assert.Equal(expected, X86Platform.VirtioMmioKernelParameters(2));
    }

    [Fact]
    public void No_virtio_devices_means_no_definitions()
    {
        Assert.Empty(X86Platform.VirtioDevices(X86PlatformOptions.Default, NullLoggerFactory.Instance));
    }

    [Fact]
    public void More_devices_than_lines_are_refused()
    {
        var specs = Enumerable.Range(0, X86Platform.VirtioMmioIrqs.Count + 1).Select(i => Rng($"rng{i}")).ToArray();

        Assert.Throws<InvalidOperationException>(() => X86Platform.VirtioDevices(new X86PlatformOptions(Virtio: specs) { VirtioTransport = VirtioTransportKind.Mmio }, NullLoggerFactory.Instance));
    }

    [Fact]
    public void Pci_is_the_default_transport_and_puts_each_device_on_the_PCI_bus_as_a_modern_virtio_function_instead_of_a_window()
    {
        var options = new X86PlatformOptions(Virtio: [Rng("rng-a"), Rng("rng-b")]);

        var functions = X86Platform.VirtioPciDevices(options, NullLoggerFactory.Instance);

        Assert.Equal(VirtioTransportKind.Pci, options.VirtioTransport);
        Assert.Empty(X86Platform.VirtioDevices(options, NullLoggerFactory.Instance));
        Assert.Equal(["rng-a", "rng-b"], functions.Select(f => f.Name));
        Assert.All(functions, f => Assert.Equal((VirtioPciRegisters.VendorId, VirtioPciLayout.DeviceId(VirtioDeviceType.Entropy)), (f.Function.VendorId, f.Function.DeviceId)));
        Assert.All(functions, f => Assert.Equal(PciInterruptPin.IntA, f.Function.InterruptPin));
        Assert.Empty(X86Platform.VirtioPciDevices(options with { VirtioTransport = VirtioTransportKind.Mmio }, NullLoggerFactory.Instance));
    }

    // The region a definition's device declares, built in a throw-away machine.
    private static DeviceRegion Regions(DeviceDefinition definition)
    {
        using var machine = new VirtioTestMachine(VirtioTestMachineRam, _ => new VirtioRng());
        var context = new DeviceContext(definition.Name, new DeviceEnvironment("x86", (_, _) => machine.Line, TimeProvider.System, NullGuestOutput.Instance, new RecordingPowerRequests(), machine.Dma), machine.Mailbox, machine.Input);
        return Assert.Single(definition.Factory(context).Regions);
    }

    private const ulong VirtioTestMachineRam = 1 << 20;
}
