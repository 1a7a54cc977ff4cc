namespace ActorVmm.Devices.Virtio.Net;

/// <summary>virtio-net's numbers (virtio 1.2 §5.1): queues, feature bits, the packet header and the configuration layout.</summary>
public static class VirtioNetProtocol
{
    /// <summary>Queue index of receiveq1: frames from the host to the guest.</summary>
    public const int ReceiveQueue = 0;

    /// <summary>Queue index of transmitq1: frames from the guest to the host.</summary>
    public const int TransmitQueue = 1;

    /// <summary>VIRTIO_NET_F_CSUM (0): the device takes packets with partial checksums (not offered).</summary>
    public const ulong FeatureChecksum = 1UL << 0;

    /// <summary>VIRTIO_NET_F_GUEST_CSUM (1): the driver takes packets with partial checksums (not offered).</summary>
    public const ulong FeatureGuestChecksum = 1UL << 1;

    /// <summary>VIRTIO_NET_F_MAC (5): the device has a MAC address in <c>mac</c>.</summary>
    public const ulong FeatureMac = 1UL << 5;

    /// <summary>VIRTIO_NET_F_GUEST_TSO4 (7): the driver takes TSOv4 (not offered).</summary>
    public const ulong FeatureGuestTso4 = 1UL << 7;

    /// <summary>VIRTIO_NET_F_HOST_TSO4 (11): the device takes TSOv4 (not offered).</summary>
    public const ulong FeatureHostTso4 = 1UL << 11;

    /// <summary>VIRTIO_NET_F_MRG_RXBUF (15): a received packet may span several buffers (not offered: one chain per frame).</summary>
    public const ulong FeatureMergeableRxBuffers = 1UL << 15;

    /// <summary>VIRTIO_NET_F_STATUS (16): <c>status</c> in the configuration space is valid.</summary>
    public const ulong FeatureStatus = 1UL << 16;

    /// <summary>VIRTIO_NET_F_CTRL_VQ (17): a control queue (not offered).</summary>
    public const ulong FeatureControlQueue = 1UL << 17;

    /// <summary>VIRTIO_NET_F_MQ (22): several queue pairs (not offered).</summary>
    public const ulong FeatureMultiQueue = 1UL << 22;

    /// <summary>The device-type features offered: a MAC address and a link status, no offloads.</summary>
    public const ulong OfferedFeatures = FeatureMac | FeatureStatus;

    /// <summary>Bytes of struct virtio_net_hdr with VIRTIO_F_VERSION_1 (num_buffers always present).</summary>
    public const int HeaderBytes = 12;

    /// <summary>Header offset of u8 flags.</summary>
    public const int HeaderFlagsOffset = 0;

    /// <summary>Header offset of u8 gso_type.</summary>
    public const int HeaderGsoTypeOffset = 1;

    /// <summary>Header offset of le16 num_buffers (receive only: buffers the packet spans).</summary>
    public const int HeaderNumBuffersOffset = 10;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the packet's checksum is partial (only with VIRTIO_NET_F_CSUM).</summary>
    public const byte HeaderFlagNeedsChecksum = 1;

    /// <summary>VIRTIO_NET_HDR_GSO_NONE: not a segmentation-offload packet.</summary>
    public const byte GsoNone = 0;

    /// <summary>Smallest frame: an Ethernet header (destination, source, EtherType).</summary>
    public const int MinFrameBytes = 14;

    /// <summary>Largest frame either way: 64 KiB of payload plus an Ethernet header (Firecracker's and QEMU's bound, 65562 with the header).</summary>
    public const int MaxFrameBytes = 65550;

    /// <summary>Configuration offset of u8 mac[6].</summary>
    public const int ConfigMac = 0;

    /// <summary>Configuration offset of le16 status.</summary>
    public const int ConfigStatus = 6;

    /// <summary>Bytes of configuration space: mac and status (max_virtqueue_pairs and mtu exist only with MQ / MTU).</summary>
    public const int ConfigBytes = 8;

    /// <summary>VIRTIO_NET_S_LINK_UP: the link is up.</summary>
    public const ushort StatusLinkUp = 1;
}
