namespace ActorVmm.Devices.Virtio.Block;

/// <summary>
/// What virtio-blk stores its sectors in (a raw image file; a fake in tests). Operations may complete at once or later,
/// on another thread; the device acknowledges a request only after its operation completed.
/// </summary>
public interface IBlockBackend
{
    /// <summary>What to call the store in messages (the image path).</summary>
    string Name { get; }

    /// <summary>Size in bytes.</summary>
    long Length { get; }

    /// <summary>True when writes are refused (the device offers VIRTIO_BLK_F_RO).</summary>
    bool IsReadOnly { get; }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>.</summary>
    /// <exception cref="IOException">The read failed or came up short.</exception>
    ValueTask ReadAsync(long offset, Memory<byte> destination);

    /// <summary>Writes all of <paramref name="source"/> at <paramref name="offset"/>; completes once the bytes are in the file (pwrite returned).</summary>
    /// <exception cref="IOException">The write failed.</exception>
    ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source);

    /// <summary>Makes every completed write durable; completes after fdatasync returned.</summary>
    /// <exception cref="IOException">The flush failed.</exception>
    ValueTask FlushAsync();
}
