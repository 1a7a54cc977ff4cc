using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>tun/tap ioctl request numbers (linux/if_tun.h), built with the same _IOR/_IOW as the KVM ioctls.</summary>
[CConstants]
internal static class TunIoctls
{
    private const uint TUN_TYPE = 'T';

    // TUNSETIFF is declared with an int argument, though the kernel reads a struct ifreq through the pointer.
    public static readonly uint TUNSETIFF = KvmIoctls._IOW<int>(TUN_TYPE, 202);
    public static readonly uint TUNGETFEATURES = KvmIoctls._IOR<uint>(TUN_TYPE, 207);
    public static readonly uint TUNSETOFFLOAD = KvmIoctls._IOW<uint>(TUN_TYPE, 208);
    public static readonly uint TUNGETVNETHDRSZ = KvmIoctls._IOR<int>(TUN_TYPE, 215);
    public static readonly uint TUNSETVNETHDRSZ = KvmIoctls._IOW<int>(TUN_TYPE, 216);
}
