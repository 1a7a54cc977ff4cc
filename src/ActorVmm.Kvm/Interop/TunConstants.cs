using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>Constants from linux/if_tun.h, linux/if.h and linux/virtio_net.h that the tap backend uses, with their C names (checked against the headers).</summary>
[CConstants]
internal static class TunConstants
{
    // struct ifreq.ifr_flags for TUNSETIFF (linux/if_tun.h).
    public const short IFF_TUN = 0x0001;
    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;
    public const short IFF_MULTI_QUEUE = 0x0100;

    // Interface name length, with the terminating NUL (linux/if.h).
    public const int IFNAMSIZ = 16;

    // struct virtio_net_hdr fields the tap fills in (linux/virtio_net.h).
    public const byte VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
    public const byte VIRTIO_NET_HDR_GSO_NONE = 0;
}
