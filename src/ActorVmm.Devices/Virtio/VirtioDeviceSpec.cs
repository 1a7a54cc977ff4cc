namespace ActorVmm.Devices.Virtio;

/// <summary>
/// A virtio device a platform places on its virtio transport: its device name and how each incarnation builds its
/// model (the model gets the incarnation's <see cref="DeviceContext"/>; shared resources such as an open image are
/// captured by the factory and outlive every incarnation).
/// </summary>
/// <param name="Name">Device name (also the device actor's name).</param>
/// <param name="Type">The device type its models are (virtio-pci announces it in the PCI device ID before any model exists).</param>
/// <param name="CreateModel">Builds a fresh model for one incarnation.</param>
public sealed record VirtioDeviceSpec(string Name, VirtioDeviceType Type, Func<DeviceContext, IVirtioDeviceModel> CreateModel);

/// <summary>Which transport a platform's virtio devices sit on (kvmtool's <c>--virtio-transport</c>).</summary>
public enum VirtioTransportKind
{
    /// <summary>virtio-mmio version 2, one window and one interrupt line per device from the memory map's virtio-mmio window.</summary>
    Mmio = 0,

    /// <summary>Modern virtio-pci: a PCI function per device with its structures in a memory BAR.</summary>
    Pci = 1,
}
