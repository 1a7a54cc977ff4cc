using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>
/// struct ifreq (linux/if.h) as TUNSETIFF uses it: the interface name, then the ifr_ifru union of which only ifr_flags
/// (a short) is read; the union is 24 bytes (a struct sockaddr or ifmap), hence the explicit size. Named ifreq_t in C#
/// (a lower-case-only type name is reserved), like sigaction_t.
/// </summary>
[CStruct("ifreq")]
[StructLayout(LayoutKind.Sequential, Size = 40)]
internal unsafe struct ifreq_t
{
    public fixed byte ifr_name[TunConstants.IFNAMSIZ];
    public short ifr_flags;
}

/// <summary>struct virtio_net_hdr_mrg_rxbuf (linux/virtio_net.h): the 12-byte header in front of every frame on a tap with IFF_VNET_HDR and TUNSETVNETHDRSZ 12.</summary>
[CStruct]
[StructLayout(LayoutKind.Sequential)]
internal struct virtio_net_hdr_mrg_rxbuf
{
    public virtio_net_hdr hdr;
    public ushort num_buffers;
}

/// <summary>struct virtio_net_hdr (linux/virtio_net.h): offload flags and segmentation of one packet (all zero without offloads).</summary>
[CStruct]
[StructLayout(LayoutKind.Sequential)]
internal struct virtio_net_hdr
{
    public byte flags;
    public byte gso_type;
    public ushort hdr_len;
    public ushort gso_size;
    public ushort csum_start;
    public ushort csum_offset;
}
