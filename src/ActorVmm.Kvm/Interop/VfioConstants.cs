using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>Constants from linux/vfio.h, with their C names (checked against the header).</summary>
[CConstants]
internal static class VfioConstants
{
    public const int VFIO_API_VERSION = 0;

    // VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU arguments.
    public const int VFIO_TYPE1_IOMMU = 1;

    // struct vfio_group_status.flags.
    public const uint VFIO_GROUP_FLAGS_VIABLE = 1u << 0;
    public const uint VFIO_GROUP_FLAGS_CONTAINER_SET = 1u << 1;

    // struct vfio_device_info.flags.
    public const uint VFIO_DEVICE_FLAGS_RESET = 1u << 0;
    public const uint VFIO_DEVICE_FLAGS_PCI = 1u << 1;
    public const uint VFIO_DEVICE_FLAGS_CAPS = 1u << 7;

    // struct vfio_region_info.flags.
    public const uint VFIO_REGION_INFO_FLAG_READ = 1u << 0;
    public const uint VFIO_REGION_INFO_FLAG_WRITE = 1u << 1;
    public const uint VFIO_REGION_INFO_FLAG_MMAP = 1u << 2;
    public const uint VFIO_REGION_INFO_FLAG_CAPS = 1u << 3;

    // Capability IDs in a region info's capability chain.
    public const ushort VFIO_REGION_INFO_CAP_SPARSE_MMAP = 1;
    public const ushort VFIO_REGION_INFO_CAP_TYPE = 2;
    public const ushort VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;

    // struct vfio_irq_info.flags.
    public const uint VFIO_IRQ_INFO_EVENTFD = 1u << 0;
    public const uint VFIO_IRQ_INFO_MASKABLE = 1u << 1;
    public const uint VFIO_IRQ_INFO_AUTOMASKED = 1u << 2;
    public const uint VFIO_IRQ_INFO_NORESIZE = 1u << 3;

    // struct vfio_irq_set.flags: one data type and one action.
    public const uint VFIO_IRQ_SET_DATA_NONE = 1u << 0;
    public const uint VFIO_IRQ_SET_DATA_BOOL = 1u << 1;
    public const uint VFIO_IRQ_SET_DATA_EVENTFD = 1u << 2;
    public const uint VFIO_IRQ_SET_ACTION_MASK = 1u << 3;
    public const uint VFIO_IRQ_SET_ACTION_UNMASK = 1u << 4;
    public const uint VFIO_IRQ_SET_ACTION_TRIGGER = 1u << 5;

    // struct vfio_iommu_type1_dma_map.flags / vfio_iommu_type1_dma_unmap.flags.
    public const uint VFIO_DMA_MAP_FLAG_READ = 1u << 0;
    public const uint VFIO_DMA_MAP_FLAG_WRITE = 1u << 1;
    public const uint VFIO_DMA_UNMAP_FLAG_ALL = 1u << 1;
}
