namespace ActorVmm.Devices.Virtio.Queues;

/// <summary>
/// The split virtqueue's memory format (virtio 1.2 §2.7): a descriptor table, the driver's available ring and the
/// device's used ring, each in guest RAM at an address the driver chose. All fields are little-endian.
/// </summary>
public static class SplitRing
{
    /// <summary>Largest queue size the format allows (§2.7: a power of two, at most 32768).</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>Bytes per descriptor: le64 addr, le32 len, le16 flags, le16 next.</summary>
    public const int DescriptorSize = 16;

    /// <summary>Descriptor field offset: le64 guest-physical buffer address.</summary>
    public const int DescriptorAddressOffset = 0;

    /// <summary>Descriptor field offset: le32 buffer length in bytes.</summary>
    public const int DescriptorLengthOffset = 8;

    /// <summary>Descriptor field offset: le16 flags (<see cref="DescriptorNext"/>, <see cref="DescriptorWrite"/>, <see cref="DescriptorIndirect"/>).</summary>
    public const int DescriptorFlagsOffset = 12;

    /// <summary>Descriptor field offset: le16 index of the next descriptor when <see cref="DescriptorNext"/> is set.</summary>
    public const int DescriptorNextOffset = 14;

    /// <summary>VIRTQ_DESC_F_NEXT: the chain continues at <c>next</c>.</summary>
    public const ushort DescriptorNext = 1;

    /// <summary>VIRTQ_DESC_F_WRITE: the buffer is device-writable (otherwise device-readable).</summary>
    public const ushort DescriptorWrite = 2;

    /// <summary>VIRTQ_DESC_F_INDIRECT: the buffer holds a table of descriptors (VIRTIO_F_INDIRECT_DESC).</summary>
    public const ushort DescriptorIndirect = 4;

    /// <summary>Alignment of the descriptor table (§2.7, table of virtqueue parts).</summary>
    public const ulong DescriptorTableAlignment = 16;

    /// <summary>Alignment of the available ring (driver area).</summary>
    public const ulong AvailableRingAlignment = 2;

    /// <summary>Alignment of the used ring (device area).</summary>
    public const ulong UsedRingAlignment = 4;

    /// <summary>Available ring field offset: le16 flags (<see cref="AvailableNoInterrupt"/>).</summary>
    public const int AvailableFlagsOffset = 0;

    /// <summary>Available ring field offset: le16 idx, where the driver puts the next entry (free-running).</summary>
    public const int AvailableIndexOffset = 2;

    /// <summary>Available ring field offset: le16 ring[queue size] of chain heads.</summary>
    public const int AvailableRingOffset = 4;

    /// <summary>Bytes per available ring entry.</summary>
    public const int AvailableEntrySize = 2;

    /// <summary>VIRTQ_AVAIL_F_NO_INTERRUPT: the driver asks for no used-buffer notifications (without VIRTIO_F_EVENT_IDX).</summary>
    public const ushort AvailableNoInterrupt = 1;

    /// <summary>Used ring field offset: le16 flags (<see cref="UsedNoNotify"/>).</summary>
    public const int UsedFlagsOffset = 0;

    /// <summary>Used ring field offset: le16 idx, where the device puts the next entry (free-running).</summary>
    public const int UsedIndexOffset = 2;

    /// <summary>Used ring field offset: ring[queue size] of { le32 id, le32 len }.</summary>
    public const int UsedRingOffset = 4;

    /// <summary>Bytes per used ring element.</summary>
    public const int UsedElementSize = 8;

    /// <summary>VIRTQ_USED_F_NO_NOTIFY: the device asks for no available-buffer notifications (without VIRTIO_F_EVENT_IDX).</summary>
    public const ushort UsedNoNotify = 1;

    /// <summary>Largest chain in bytes (§2.7.5: a driver must not add a chain longer than 2^32 bytes; used lengths are 32-bit).</summary>
    public const ulong MaxChainBytes = uint.MaxValue;

    /// <summary>Bytes of the descriptor table of a queue of <paramref name="size"/> entries.</summary>
    public static ulong DescriptorTableBytes(int size) => (ulong)size * DescriptorSize;

    /// <summary>Bytes of the available ring including used_event: flags, idx, ring[size], used_event.</summary>
    public static ulong AvailableRingBytes(int size) => 6 + ((ulong)size * AvailableEntrySize);

    /// <summary>Bytes of the used ring including avail_event: flags, idx, ring[size], avail_event.</summary>
    public static ulong UsedRingBytes(int size) => 6 + ((ulong)size * UsedElementSize);

    /// <summary>Offset of used_event (VIRTIO_F_EVENT_IDX) in the available ring: right after ring[size].</summary>
    public static int UsedEventOffset(int size) => AvailableRingOffset + (size * AvailableEntrySize);

    /// <summary>Offset of avail_event (VIRTIO_F_EVENT_IDX) in the used ring: right after ring[size].</summary>
    public static int AvailableEventOffset(int size) => UsedRingOffset + (size * UsedElementSize);

    /// <summary>True for a queue size the format allows: a power of two from 1 to <see cref="MaxQueueSize"/>.</summary>
    public static bool IsValidSize(long size) => size is > 0 and <= MaxQueueSize && (size & (size - 1)) == 0;

    /// <summary>
    /// vring_need_event (§2.7.10): with VIRTIO_F_EVENT_IDX, a notification is due when the index moved from
    /// <paramref name="oldIndex"/> to <paramref name="newIndex"/> past <paramref name="eventIndex"/> (16-bit wrapping arithmetic).
    /// </summary>
    public static bool NeedsEvent(ushort eventIndex, ushort newIndex, ushort oldIndex) =>
        (ushort)(newIndex - eventIndex - 1) < (ushort)(newIndex - oldIndex);
}
