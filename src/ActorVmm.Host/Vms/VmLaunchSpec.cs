using ActorVmm.Devices.Pci;

namespace ActorVmm.Host.Vms;

/// <summary>Everything needed to create and start one VM.</summary>
/// <param name="Name">Unique VM name.</param>
/// <param name="MemorySize">Guest RAM in bytes (a multiple of 4 KiB).</param>
/// <param name="VcpuCount">Number of vCPUs.</param>
/// <param name="Image">The flat binary loaded at 0x10000.</param>
/// <param name="Console">Where COM1's output goes (null: discarded).</param>
public sealed record VmLaunchSpec(string Name, ulong MemorySize, int VcpuCount, ReadOnlyMemory<byte> Image, Stream? Console)
{
    /// <summary>Log unhandled port accesses.</summary>
    public bool DebugIoport { get; init; }

    /// <summary>Log unhandled MMIO accesses.</summary>
    public bool DebugMmio { get; init; }

    /// <summary>Devices on the PCI bus besides the host bridge (passed-through functions).</summary>
    public IReadOnlyList<PciDeviceDefinition> PciDevices { get; init; } = [];
}
