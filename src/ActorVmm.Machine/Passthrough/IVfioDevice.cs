namespace ActorVmm.Machine.Passthrough;

/// <summary>
/// SEAM (bound by the KVM backend's VFIO code; tests use a fake): one host device opened through VFIO, with its
/// container and group, already attached to a type-1 IOMMU. The owner (the passthrough device) calls it from its
/// own trap handlers and slow path; implementations are thread-safe for concurrent region accesses.
/// </summary>
public interface IVfioDevice : IDisposable
{
    /// <summary>The host address the device was opened by (DOMAIN:BUS:DEV.FN).</summary>
    string HostAddress { get; }

    /// <summary>VFIO_DEVICE_GET_INFO, as read when the device was opened.</summary>
    VfioDeviceInfo Info { get; }

    /// <summary>VFIO_IOMMU_MAP_DMA of each window (guest-physical address as IOVA, host address, size), read-write; unmapped when the device is disposed.</summary>
    /// <exception cref="IOException">The kernel refused (the message says why).</exception>
    void MapDma(IReadOnlyList<(ulong GuestAddress, nint HostAddress, ulong Size)> windows);

    /// <summary>VFIO_DEVICE_GET_REGION_INFO with its sparse-mmap capability, if any.</summary>
    /// <exception cref="IOException">The kernel refused.</exception>
    VfioRegionInfo GetRegionInfo(int index);

    /// <summary>VFIO_DEVICE_GET_IRQ_INFO.</summary>
    /// <exception cref="IOException">The kernel refused.</exception>
    VfioIrqInfo GetIrqInfo(int index);

    /// <summary>pread(2) of region <paramref name="region"/> at <paramref name="offset"/> (inside the region; checked by the caller).</summary>
    /// <exception cref="IOException">The read failed or was short.</exception>
    void Read(VfioRegionInfo region, ulong offset, Span<byte> data);

    /// <summary>pwrite(2) of region <paramref name="region"/> at <paramref name="offset"/> (inside the region; checked by the caller).</summary>
    /// <exception cref="IOException">The write failed or was short.</exception>
    void Write(VfioRegionInfo region, ulong offset, ReadOnlySpan<byte> data);

    /// <summary>mmap(2) of <paramref name="size"/> bytes of region <paramref name="region"/> at <paramref name="offset"/> (a page-aligned mmappable area).</summary>
    /// <exception cref="IOException">The mapping failed.</exception>
    IVfioMapping Map(VfioRegionInfo region, ulong offset, ulong size);

    /// <summary>VFIO_DEVICE_SET_IRQS with ACTION_TRIGGER and eventfd data: vectors start.. of IRQ index <paramref name="index"/> signal these eventfds (-1 detaches one).</summary>
    /// <exception cref="IOException">The kernel refused.</exception>
    void SetIrqTriggers(int index, int start, ReadOnlySpan<int> eventFds);

    /// <summary>VFIO_DEVICE_SET_IRQS with ACTION_UNMASK and eventfd data: a write to <paramref name="eventFd"/> unmasks vector 0 of <paramref name="index"/> (INTx resample).</summary>
    /// <exception cref="IOException">The kernel refused.</exception>
    void SetIrqUnmaskFd(int index, int eventFd);

    /// <summary>VFIO_DEVICE_SET_IRQS with ACTION_TRIGGER, DATA_NONE and count 0: disables every vector of IRQ index <paramref name="index"/>.</summary>
    /// <exception cref="IOException">The kernel refused.</exception>
    void DisableIrqs(int index);

    /// <summary>VFIO_DEVICE_RESET.</summary>
    /// <exception cref="IOException">The kernel refused, or the device cannot reset.</exception>
    void Reset();
}

/// <summary>An mmapped area of a device region; disposing unmaps it.</summary>
public interface IVfioMapping : IDisposable
{
    /// <summary>The host address of the first byte.</summary>
    nint HostAddress { get; }

    /// <summary>Bytes mapped.</summary>
    ulong Size { get; }
}

/// <summary>What VFIO_DEVICE_GET_INFO says about a device.</summary>
/// <param name="IsPci">VFIO_DEVICE_FLAGS_PCI: a vfio-pci device.</param>
/// <param name="CanReset">VFIO_DEVICE_FLAGS_RESET.</param>
/// <param name="RegionCount">num_regions.</param>
/// <param name="IrqCount">num_irqs.</param>
public sealed record VfioDeviceInfo(bool IsPci, bool CanReset, int RegionCount, int IrqCount);

/// <summary>Region flags (VFIO_REGION_INFO_FLAG_*).</summary>
[Flags]
public enum VfioRegionFlags
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>The region can be read.</summary>
    Read = 1 << 0,

    /// <summary>The region can be written.</summary>
    Write = 1 << 1,

    /// <summary>The region (or its sparse areas) can be mmapped.</summary>
    Mmap = 1 << 2,
}

/// <summary>One region of a device (vfio-pci: BAR0–5, ROM, config, VGA).</summary>
/// <param name="Index">Region index.</param>
/// <param name="Flags">Access flags.</param>
/// <param name="Size">Bytes (0: not implemented).</param>
/// <param name="Offset">Offset of the region in the device fd (pread/pwrite/mmap offsets add it).</param>
/// <param name="SparseAreas">The mmappable areas when the kernel gave a sparse-mmap capability; null when the whole region's mmap flag applies.</param>
public sealed record VfioRegionInfo(int Index, VfioRegionFlags Flags, ulong Size, ulong Offset, IReadOnlyList<VfioSparseArea>? SparseAreas = null)
{
    /// <summary>The areas that may be mmapped: the sparse areas, the whole region, or none.</summary>
    public IReadOnlyList<VfioSparseArea> MappableAreas =>
        (Flags & VfioRegionFlags.Mmap) == 0 ? [] : SparseAreas ?? [new VfioSparseArea(0, Size)];
}

/// <summary>One mmappable area inside a region (struct vfio_region_sparse_mmap_area).</summary>
/// <param name="Offset">Offset inside the region.</param>
/// <param name="Size">Bytes.</param>
public sealed record VfioSparseArea(ulong Offset, ulong Size);

/// <summary>IRQ flags (VFIO_IRQ_INFO_*).</summary>
[Flags]
public enum VfioIrqFlags
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>Eventfds can be attached.</summary>
    EventFd = 1 << 0,

    /// <summary>The IRQ can be masked and unmasked.</summary>
    Maskable = 1 << 1,

    /// <summary>The kernel masks it on delivery (level-triggered INTx); it needs an unmask.</summary>
    AutoMasked = 1 << 2,

    /// <summary>The vector count cannot change once set.</summary>
    NoResize = 1 << 3,
}

/// <summary>One IRQ index of a device (vfio-pci: INTx, MSI, MSI-X, error, request).</summary>
/// <param name="Index">IRQ index.</param>
/// <param name="Flags">Flags.</param>
/// <param name="Count">Vectors (0: not implemented).</param>
public sealed record VfioIrqInfo(int Index, VfioIrqFlags Flags, int Count);
