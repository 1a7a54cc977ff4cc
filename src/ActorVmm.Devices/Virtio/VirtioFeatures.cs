namespace ActorVmm.Devices.Virtio;

/// <summary>Device-independent feature bits (virtio 1.2 §6) as 64-bit masks; device-type bits are in each device's folder.</summary>
public static class VirtioFeatures
{
    /// <summary>VIRTIO_F_INDIRECT_DESC (28): the driver may use indirect descriptor tables.</summary>
    public const ulong IndirectDescriptors = 1UL << 28;

    /// <summary>VIRTIO_F_EVENT_IDX (29): used_event and avail_event replace the ring flags for notification suppression.</summary>
    public const ulong EventIndex = 1UL << 29;

    /// <summary>VIRTIO_F_VERSION_1 (32): the device follows virtio 1.x (non-legacy); must be accepted.</summary>
    public const ulong Version1 = 1UL << 32;

    /// <summary>The device-independent features every device here offers: split rings with indirect tables and event indices.</summary>
    public const ulong Offered = Version1 | IndirectDescriptors | EventIndex;

    /// <summary>Bits 24–40 and 50–127 are reserved for device-independent features; a device type may not use them.</summary>
    public const ulong ReservedForTransport = ((1UL << 41) - 1) & ~((1UL << 24) - 1);
}
