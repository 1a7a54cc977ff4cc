using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Tests.DeviceTree;

/// <summary>arm64 VM configurations for the device-tree tests.</summary>
internal static class Arm64Trees
{
    public const ulong MiB = 1UL << 20;

    /// <summary>The options of a VM with <paramref name="virtio"/> transports placed in the virtio-mmio window.</summary>
    public static Arm64DeviceTreeOptions Options(int cpus, ulong ram, int virtio = 0, bool pci = false, string bootargs = "")
    {
        var layout = MemoryMap.Arm64.Layout(ram);
        return new Arm64DeviceTreeOptions(layout, cpus)
        {
            Bootargs = bootargs,
            Devices = Transports(layout, virtio),
            Pci = pci,
        };
    }

    /// <summary>Where <paramref name="count"/> transports go.</summary>
    public static IReadOnlyList<VirtioMmioDeviceTreeNode> Transports(MemoryLayout layout, int count) =>
        VirtioMmioDeviceTreeNode.Place(layout.Window("virtio-mmio"), Arm64Platform.VirtioMmioIrqs, count);

    /// <summary>A spread of configurations: smallest, the docs' example, many devices with PCI, the largest VM.</summary>
    public static TheoryData<int, ulong, int, bool> Configurations => new()
    {
        { 1, 64 * MiB, 0, false },
        { 2, 256 * MiB, 1, false },
        { 8, 3072 * MiB, 5, true },
        { 64, 1UL << 39, Arm64Platform.VirtioMmioIrqCount, true },
    };
}
