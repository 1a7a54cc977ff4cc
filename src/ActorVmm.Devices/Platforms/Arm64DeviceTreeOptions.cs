using ActorVmm.Devices.DeviceTree;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Platforms;

/// <summary>What an arm64 VM's device tree describes beyond the platform's fixed devices.</summary>
/// <param name="Layout">The VM's layout (arm64): RAM, and the windows the GIC, PCI and transports sit in.</param>
/// <param name="Cpus">vCPUs (1..<see cref="Machine.Vcpu.VmSpec.MaxVcpus"/>): a <c>cpu</c> node and a redistributor each.</param>
public sealed record Arm64DeviceTreeOptions(MemoryLayout Layout, int Cpus)
{
    /// <summary>The kernel command line (<c>/chosen/bootargs</c>); empty writes no <c>bootargs</c>.</summary>
    public string Bootargs { get; init; } = string.Empty;

    /// <summary>Devices added to the platform's (virtio-mmio transports, ...), in the order their nodes are written.</summary>
    public IReadOnlyList<IDescribesDeviceTree> Devices { get; init; } = [];

    /// <summary>True when the VM has a PCI bus: the ECAM host bridge's node is written.</summary>
    public bool Pci { get; init; }
}
