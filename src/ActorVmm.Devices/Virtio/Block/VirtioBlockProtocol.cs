namespace ActorVmm.Devices.Virtio.Block;

/// <summary>virtio-blk's numbers (virtio 1.2 §5.2): feature bits, request types, status values and configuration layout.</summary>
public static class VirtioBlockProtocol
{
    /// <summary>Bytes per sector: request sectors and <c>capacity</c> count in these, whatever blk_size says.</summary>
    public const int SectorSize = 512;

    /// <summary>VIRTIO_BLK_F_SIZE_MAX (1): size_max bounds any single data segment.</summary>
    public const ulong FeatureSizeMax = 1UL << 1;

    /// <summary>VIRTIO_BLK_F_SEG_MAX (2): seg_max bounds the data segments of a request.</summary>
    public const ulong FeatureSegMax = 1UL << 2;

    /// <summary>VIRTIO_BLK_F_RO (5): the device is read-only; writes fail with VIRTIO_BLK_S_IOERR.</summary>
    public const ulong FeatureReadOnly = 1UL << 5;

    /// <summary>VIRTIO_BLK_F_BLK_SIZE (6): blk_size holds the logical block size.</summary>
    public const ulong FeatureBlockSize = 1UL << 6;

    /// <summary>VIRTIO_BLK_F_FLUSH (9): VIRTIO_BLK_T_FLUSH is supported; without it negotiated, writes are write-through.</summary>
    public const ulong FeatureFlush = 1UL << 9;

    /// <summary>VIRTIO_BLK_T_IN: read sectors into the data buffers.</summary>
    public const uint RequestIn = 0;

    /// <summary>VIRTIO_BLK_T_OUT: write the data buffers to sectors.</summary>
    public const uint RequestOut = 1;

    /// <summary>VIRTIO_BLK_T_FLUSH: make completed writes durable.</summary>
    public const uint RequestFlush = 4;

    /// <summary>VIRTIO_BLK_T_GET_ID: the device ID string (up to 20 bytes, NUL-padded).</summary>
    public const uint RequestGetId = 8;

    /// <summary>VIRTIO_BLK_S_OK.</summary>
    public const byte StatusOk = 0;

    /// <summary>VIRTIO_BLK_S_IOERR: device or driver error (also a write to a read-only device, a sector out of range).</summary>
    public const byte StatusIoError = 1;

    /// <summary>VIRTIO_BLK_S_UNSUPP: the request type is not supported.</summary>
    public const byte StatusUnsupported = 2;

    /// <summary>Bytes of the request header: le32 type, le32 reserved, le64 sector.</summary>
    public const int HeaderBytes = 16;

    /// <summary>Header offset of le32 type.</summary>
    public const int HeaderTypeOffset = 0;

    /// <summary>Header offset of le64 sector.</summary>
    public const int HeaderSectorOffset = 8;

    /// <summary>Length of the device ID string (VIRTIO_BLK_ID_BYTES).</summary>
    public const int IdBytes = 20;

    /// <summary>Configuration offset of le64 capacity (in 512-byte sectors).</summary>
    public const int ConfigCapacity = 0;

    /// <summary>Configuration offset of le32 size_max.</summary>
    public const int ConfigSizeMax = 8;

    /// <summary>Configuration offset of le32 seg_max.</summary>
    public const int ConfigSegMax = 12;

    /// <summary>Configuration offset of the geometry (cylinders le16, heads u8, sectors u8; not offered, reads 0).</summary>
    public const int ConfigGeometry = 16;

    /// <summary>Configuration offset of le32 blk_size.</summary>
    public const int ConfigBlockSize = 20;

    /// <summary>Configuration space exposed: up to and including num_queues (topology, writeback and num_queues read 0).</summary>
    public const int ConfigBytes = 36;
}
