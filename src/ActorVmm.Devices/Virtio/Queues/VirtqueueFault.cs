namespace ActorVmm.Devices.Virtio.Queues;

/// <summary>What a driver got wrong in a virtqueue: the reason of a <see cref="VirtqueueException"/>.</summary>
public enum VirtqueueFault
{
    /// <summary>The queue size is not a power of two up to the device's maximum.</summary>
    InvalidSize = 1,

    /// <summary>A ring part is not aligned as §2.7 requires (descriptor table 16, available ring 2, used ring 4).</summary>
    MisalignedRing,

    /// <summary>A ring part lies (partly) outside guest RAM or wraps the address space.</summary>
    RingOutsideRam,

    /// <summary>The available index moved more than the queue size past the last entry the device took.</summary>
    AvailableIndexJump,

    /// <summary>A chain head in the available ring is not a descriptor index.</summary>
    HeadOutOfRange,

    /// <summary>The driver made a chain available again while the device still holds it.</summary>
    HeadInFlight,

    /// <summary>A <c>next</c> field is not a descriptor index of its table.</summary>
    NextOutOfRange,

    /// <summary>A chain is longer than its table allows: a loop, or more descriptors than the queue size.</summary>
    ChainTooLong,

    /// <summary>The chain's buffers add up to more than 2^32 - 1 bytes.</summary>
    ChainTooLarge,

    /// <summary>A buffer lies (partly) outside guest RAM or wraps the address space.</summary>
    BufferOutsideRam,

    /// <summary>A device-readable buffer follows a device-writable one.</summary>
    ReadableAfterWritable,

    /// <summary>An indirect descriptor while VIRTIO_F_INDIRECT_DESC was not negotiated.</summary>
    IndirectNotNegotiated,

    /// <summary>An indirect descriptor inside an indirect table.</summary>
    NestedIndirect,

    /// <summary>An indirect descriptor that also has VIRTQ_DESC_F_NEXT.</summary>
    IndirectWithNext,

    /// <summary>An indirect table whose length is 0, not a multiple of 16, or more than 32768 descriptors.</summary>
    IndirectTableSize,
}
