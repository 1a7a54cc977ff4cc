namespace ActorVmm.Devices.Virtio;

/// <summary>Virtio device IDs (virtio 1.2 §5); the transport reports it (virtio-mmio DeviceID, PCI device ID 0x1040 + id).</summary>
public enum VirtioDeviceType
{
    /// <summary>Network card (virtio-net over a tap device, Virtio/Net).</summary>
    Network = 1,

    /// <summary>Block device.</summary>
    Block = 2,

    /// <summary>Console.</summary>
    Console = 3,

    /// <summary>Entropy source.</summary>
    Entropy = 4,
}
