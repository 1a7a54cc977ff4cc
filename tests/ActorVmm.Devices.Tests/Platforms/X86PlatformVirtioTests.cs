using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Rng;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.TestSupport.Virtio;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Devices.Tests.Platforms;

/// <summary>The x86 platform's virtio devices: one virtio-mmio window and free ISA line each, from the map's virtio-mmio window.</summary>
public sealed class X86PlatformVirtioTests
{
    private static VirtioDeviceSpec Rng(string name) => new(name, VirtioDeviceType.Entropy, _ => new VirtioRng());

    [Fact]
    public void Virtio_devices_get_consecutive_windows_from_the_virtio_mmio_window_and_the_free_isa_lines()
    {
        var options = new X86PlatformOptions(Virtio: [Rng("rng-a"), Rng("rng-b")]);

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

        Assert.Throws<InvalidOperationException>(() => X86Platform.VirtioDevices(new X86PlatformOptions(Virtio: specs), NullLoggerFactory.Instance));
    }

    [Fact]
    public void The_pci_transport_is_refused_while_virtio_pci_is_not_built()
    {
        var options = new X86PlatformOptions(Virtio: [Rng("rng")]) { VirtioTransport = VirtioTransportKind.Pci };

        var error = Assert.Throws<NotSupportedException>(() => X86Platform.VirtioDevices(options, NullLoggerFactory.Instance));
        Assert.Contains("virtio-pci", error.Message, StringComparison.Ordinal);
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
