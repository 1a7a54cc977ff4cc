using ActorVmm.Machine.Memory;

namespace ActorVmm.Devices.Virtio.Queues;

/// <summary>Where the driver put a split queue and how big it is, as the transport registers hold it.</summary>
/// <param name="Size">Entries (QueueNum / queue_size).</param>
/// <param name="DescriptorTable">Descriptor area (QueueDesc).</param>
/// <param name="AvailableRing">Driver area (QueueDriver): the available ring.</param>
/// <param name="UsedRing">Device area (QueueDevice): the used ring.</param>
public readonly record struct VirtqueueLayout(uint Size, ulong DescriptorTable, ulong AvailableRing, ulong UsedRing)
{
    /// <summary>
    /// Checks every guest-controlled number before the queue is used: the size is a power of two up to
    /// <paramref name="maxSize"/>, each part is aligned as §2.7 requires, and each part (with its event field) is RAM.
    /// </summary>
    /// <exception cref="VirtqueueException">The layout breaks one of those rules.</exception>
    public void Validate(ushort maxSize, GuestDma dma)
    {
        ArgumentNullException.ThrowIfNull(dma);
        if (!SplitRing.IsValidSize(Size) || Size > maxSize)
        {
            throw new VirtqueueException(VirtqueueFault.InvalidSize, $"queue size {Size} is not a power of two from 1 to {maxSize}");
        }

        int size = (int)Size;
        CheckPart("descriptor table", DescriptorTable, SplitRing.DescriptorTableAlignment, SplitRing.DescriptorTableBytes(size), dma);
        CheckPart("available ring", AvailableRing, SplitRing.AvailableRingAlignment, SplitRing.AvailableRingBytes(size), dma);
        CheckPart("used ring", UsedRing, SplitRing.UsedRingAlignment, SplitRing.UsedRingBytes(size), dma);
    }

    private static void CheckPart(string part, ulong address, ulong alignment, ulong length, GuestDma dma)
    {
        if (address % alignment != 0)
        {
            throw new VirtqueueException(VirtqueueFault.MisalignedRing, $"{part} at 0x{address:X} is not {alignment}-byte aligned");
        }

        if (address > ulong.MaxValue - length || !dma.IsRam(address, length))
        {
            throw new VirtqueueException(VirtqueueFault.RingOutsideRam, $"{part} [0x{address:X}, +0x{length:X}) is not guest RAM");
        }
    }
}
