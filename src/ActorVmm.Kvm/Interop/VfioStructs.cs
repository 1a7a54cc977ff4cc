using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>struct vfio_info_cap_header: the header of every record in an info capability chain.</summary>
[CStruct]
internal struct vfio_info_cap_header
{
    public ushort id;
    public ushort version;
    public uint next;
}

/// <summary>struct vfio_group_status (VFIO_GROUP_GET_STATUS).</summary>
[CStruct]
internal struct vfio_group_status
{
    public uint argsz;
    public uint flags;
}

/// <summary>struct vfio_device_info (VFIO_DEVICE_GET_INFO).</summary>
[CStruct]
internal struct vfio_device_info
{
    public uint argsz;
    public uint flags;
    public uint num_regions;
    public uint num_irqs;
    public uint cap_offset;
}

/// <summary>struct vfio_region_info (VFIO_DEVICE_GET_REGION_INFO); a capability chain may follow it when argsz allows.</summary>
[CStruct]
internal struct vfio_region_info
{
    public uint argsz;
    public uint flags;
    public uint index;
    public uint cap_offset;
    public ulong size;
    public ulong offset;
}

/// <summary>struct vfio_region_sparse_mmap_area: one mmappable window of a region.</summary>
[CStruct]
internal struct vfio_region_sparse_mmap_area
{
    public ulong offset;
    public ulong size;
}

/// <summary>struct vfio_region_info_cap_sparse_mmap: the header; <c>nr_areas</c> areas follow it (a flexible array).</summary>
[CStruct]
internal struct vfio_region_info_cap_sparse_mmap
{
    public vfio_info_cap_header header;
    public uint nr_areas;
    public uint reserved;
}

/// <summary>struct vfio_irq_info (VFIO_DEVICE_GET_IRQ_INFO).</summary>
[CStruct]
internal struct vfio_irq_info
{
    public uint argsz;
    public uint flags;
    public uint index;
    public uint count;
}

/// <summary>struct vfio_irq_set (VFIO_DEVICE_SET_IRQS): the header; <c>count</c> data items (eventfds as s32) follow it.</summary>
[CStruct]
internal struct vfio_irq_set
{
    public uint argsz;
    public uint flags;
    public uint index;
    public uint start;
    public uint count;
}

/// <summary>struct vfio_iommu_type1_dma_map (VFIO_IOMMU_MAP_DMA).</summary>
[CStruct]
internal struct vfio_iommu_type1_dma_map
{
    public uint argsz;
    public uint flags;
    public ulong vaddr;
    public ulong iova;
    public ulong size;
}

/// <summary>struct vfio_iommu_type1_dma_unmap (VFIO_IOMMU_UNMAP_DMA) without the dirty-bitmap data that may follow it.</summary>
[CStruct]
internal struct vfio_iommu_type1_dma_unmap
{
    public uint argsz;
    public uint flags;
    public ulong iova;
    public ulong size;
}
