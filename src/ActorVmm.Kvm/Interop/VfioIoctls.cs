using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>
/// VFIO ioctl request numbers. linux/vfio.h declares every one as _IO(VFIO_TYPE, VFIO_BASE + n) (no size in the
/// number; the argument's argsz field carries it), built here with the same _IO as the KVM ioctls.
/// </summary>
[CConstants]
internal static class VfioIoctls
{
    public const uint VFIO_TYPE = ';';
    public const uint VFIO_BASE = 100;

    // Container (/dev/vfio/vfio) ioctls.
    public static readonly uint VFIO_GET_API_VERSION = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 0);
    public static readonly uint VFIO_CHECK_EXTENSION = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 1);
    public static readonly uint VFIO_SET_IOMMU = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 2);
    public static readonly uint VFIO_IOMMU_MAP_DMA = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 13);
    public static readonly uint VFIO_IOMMU_UNMAP_DMA = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 14);

    // Group (/dev/vfio/N) ioctls.
    public static readonly uint VFIO_GROUP_GET_STATUS = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 3);
    public static readonly uint VFIO_GROUP_SET_CONTAINER = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 4);
    public static readonly uint VFIO_GROUP_UNSET_CONTAINER = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 5);
    public static readonly uint VFIO_GROUP_GET_DEVICE_FD = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 6);

    // Device ioctls.
    public static readonly uint VFIO_DEVICE_GET_INFO = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 7);
    public static readonly uint VFIO_DEVICE_GET_REGION_INFO = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 8);
    public static readonly uint VFIO_DEVICE_GET_IRQ_INFO = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 9);
    public static readonly uint VFIO_DEVICE_SET_IRQS = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 10);
    public static readonly uint VFIO_DEVICE_RESET = KvmIoctls._IO(VFIO_TYPE, VFIO_BASE + 11);
}
