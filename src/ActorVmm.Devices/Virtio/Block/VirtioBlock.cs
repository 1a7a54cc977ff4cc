using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Queues;
using Microsoft.Extensions.Logging;
using static ActorVmm.Devices.Virtio.Block.VirtioBlockProtocol;

namespace ActorVmm.Devices.Virtio.Block;

/// <summary>
/// virtio-blk (virtio 1.2 §5.2) over an <see cref="IBlockBackend"/>: IN, OUT, FLUSH and GET_ID on one request queue;
/// capacity, size_max, seg_max and blk_size in configuration space; VIRTIO_BLK_F_RO for a read-only image, whose writes
/// fail with VIRTIO_BLK_S_IOERR without touching it. A request is parsed from the chain's readable bytes (the 16-byte
/// header, then OUT data) and writable bytes (IN or GET_ID data, then the status byte last), however the driver split
/// them. Requests beyond the image, data that is not whole sectors, or more than <see cref="MaxRequestBytes"/> get
/// VIRTIO_BLK_S_IOERR; unknown types VIRTIO_BLK_S_UNSUPP; the queue stays healthy.
/// <para>
/// Data moves through a host buffer: an OUT request's data is copied out of guest RAM when the request is taken, an IN
/// request's data into it when the read has completed — both on the slow path under the device lock, so nothing reaches
/// guest memory after a reset. Several requests may be in flight (<see cref="BlockIoMode.ThreadPool"/>); a completion
/// comes back to the slow path as <see cref="BlockIoCompleted"/>. A request is acknowledged (its used entry written)
/// only after its operation completed: a write once it is in the file, a flush once fdatasync returned, and, when the
/// driver did not negotiate VIRTIO_BLK_F_FLUSH, a write only after it was also synced (write-through, §5.2.6.2).
/// Host buffers in flight are bounded by <see cref="InFlightBytesLimit"/>: beyond it the device leaves requests in the
/// ring until completions free room.
/// </para>
/// </summary>
public sealed class VirtioBlock : IVirtioDeviceModel
{
    /// <summary>Queue index of requestq.</summary>
    public const int RequestQueue = 0;

    /// <summary>Entries per queue offered.</summary>
    public const ushort QueueSize = 256;

    /// <summary>size_max: largest data segment a driver may use.</summary>
    public const uint MaxSegmentBytes = 64 * 1024;

    /// <summary>seg_max: most data segments per request.</summary>
    public const uint MaxSegments = 64;

    /// <summary>Largest request (seg_max × size_max); a larger one fails with VIRTIO_BLK_S_IOERR.</summary>
    public const int MaxRequestBytes = (int)(MaxSegmentBytes * MaxSegments);

    /// <summary>Host buffer bytes in flight at most (beyond it, requests wait in the ring).</summary>
    public const long InFlightBytesLimit = 32L * 1024 * 1024;

    private static long s_nextRequestId;

    private readonly IBlockBackend _backend;
    private readonly byte[] _id = new byte[IdBytes];
    private readonly Dictionary<long, BlockRequest> _inFlight = [];
    private IVirtioModelHost? _host;
    private long _inFlightBytes;
    private bool _waitingForRoom;

    /// <summary>Creates the device over <paramref name="backend"/>; <paramref name="serial"/> is the GET_ID string (ASCII, at most 20 bytes used).</summary>
    public VirtioBlock(IBlockBackend backend, string serial)
    {
        _backend = backend ?? throw new ArgumentNullException(nameof(backend));
        ArgumentNullException.ThrowIfNull(serial);
        for (int i = 0; i < Math.Min(serial.Length, IdBytes); i++)
        {
            _id[i] = serial[i] is >= ' ' and <= '~' ? (byte)serial[i] : (byte)'?';
        }
    }

    /// <inheritdoc />
    public VirtioDeviceType DeviceType => VirtioDeviceType.Block;

    /// <inheritdoc />
    public ulong Features => FeatureSizeMax | FeatureSegMax | FeatureBlockSize | FeatureFlush | (_backend.IsReadOnly ? FeatureReadOnly : 0);

    /// <inheritdoc />
    public int QueueCount => 1;

    /// <inheritdoc />
    public ushort MaxQueueSize => QueueSize;

    /// <inheritdoc />
    public int ConfigLength => ConfigBytes;

    /// <summary>Capacity in 512-byte sectors (a partial last sector is not addressable).</summary>
    public ulong CapacitySectors => (ulong)_backend.Length / SectorSize;

    /// <summary>Requests handed to the backend and not yet completed (including those a reset abandoned).</summary>
    public int RequestsInFlight => _inFlight.Count;

    /// <summary>The GET_ID string as the guest reads it.</summary>
    public string Serial => Encoding.ASCII.GetString(_id).TrimEnd('\0');

    /// <summary>A definition for a VM's device list: a block device over <paramref name="image"/> (opened and locked by the caller, shared by every incarnation).</summary>
    public static DeviceDefinition Definition(string name, VirtioMmioSlot slot, IBlockBackend image, string? serial = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        return VirtioMmioDevice.Definition(name, slot, _ => new VirtioBlock(image, serial ?? name), logger);
    }

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> config = stackalloc byte[ConfigBytes];
        config.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(config[ConfigCapacity..], CapacitySectors);
        BinaryPrimitives.WriteUInt32LittleEndian(config[ConfigSizeMax..], MaxSegmentBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(config[ConfigSegMax..], MaxSegments);
        BinaryPrimitives.WriteUInt32LittleEndian(config[ConfigBlockSize..], SectorSize);
        config.Slice(offset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc />
    public void WriteConfig(int offset, ReadOnlySpan<byte> source)
    {
        // Every field is read-only (VIRTIO_BLK_F_CONFIG_WCE is not offered).
    }

    /// <inheritdoc />
    public bool AcceptsFeatures(ulong driverFeatures) => true;

    /// <inheritdoc />
    public void Activate(IVirtioModelHost host) => _host = host;

    /// <inheritdoc />
    public void ProcessQueue(Virtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        _waitingForRoom = false;
        while (true)
        {
            if (_inFlightBytes >= InFlightBytesLimit)
            {
                _waitingForRoom = true;
                return;
            }

            if (!queue.TryPop(out var chain))
            {
                return;
            }

            Submit(queue, chain);
        }
    }

    /// <inheritdoc />
    public void Resubmit(Virtqueue queue, DescriptorChain chain) => Submit(queue, chain);

    /// <inheritdoc />
    public bool OnMessage(object message)
    {
        if (message is not BlockIoCompleted completed)
        {
            return false;
        }

        // A completion of an earlier incarnation, or one already handled: nothing of ours.
        if (!_inFlight.Remove(completed.RequestId, out var request))
        {
            return true;
        }

        _inFlightBytes -= request.BufferBytes;
        Finish(request, request.Pending!.Exception?.InnerException);

        // Room again for requests left in the ring.
        if (_waitingForRoom && request.Queue.IsLive)
        {
            ProcessQueue(request.Queue);
        }

        return true;
    }

    /// <inheritdoc />
    public void Reset()
    {
        // Requests in flight stay listed until their operation completes (their host buffers are busy until then);
        // their queues are retired, so they complete without touching guest memory.
        _host = null;
        _waitingForRoom = false;
    }

    private IVirtioModelHost Host => _host ?? throw new InvalidOperationException("virtio-blk used before DRIVER_OK");

    private void Submit(Virtqueue queue, DescriptorChain chain)
    {
        var host = Host;
        if (chain.WritableLength == 0)
        {
            // No status byte: the request cannot even fail properly. Return it untouched.
            host.CountBadRequest($"chain {chain.Head} has no writable status byte");
            queue.Complete(chain, 0);
            return;
        }

        Span<byte> header = stackalloc byte[HeaderBytes];
        if (chain.Read(host.Dma, 0, header) < HeaderBytes)
        {
            Refuse(queue, chain, StatusIoError, $"chain {chain.Head} has a {chain.ReadableLength}-byte header");
            return;
        }

        uint type = BinaryPrimitives.ReadUInt32LittleEndian(header[HeaderTypeOffset..]);
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderSectorOffset..]);
        var request = new BlockRequest(queue, chain, type);
        switch (type)
        {
            case RequestIn:
                if (CheckData(request, chain.WritableLength - 1u, sector) is { } readOffset)
                {
                    Start(request, _backend.ReadAsync(readOffset, request.Data));
                }

                break;

            case RequestOut:
                if (_backend.IsReadOnly)
                {
                    // §5.2.6.2: a write to a VIRTIO_BLK_F_RO device fails with IOERR and writes nothing.
                    Refuse(queue, chain, StatusIoError, $"write to read-only image '{_backend.Name}'");
                }
                else if (CheckData(request, chain.ReadableLength - (uint)HeaderBytes, sector) is { } writeOffset)
                {
                    chain.Read(host.Dma, HeaderBytes, request.Data.Span);
                    bool writeThrough = (host.NegotiatedFeatures & FeatureFlush) == 0;
                    Start(request, writeThrough ? WriteThrough(_backend, writeOffset, request.Data) : _backend.WriteAsync(writeOffset, request.Data));
                }

                break;

            case RequestFlush:
                Start(request, _backend.IsReadOnly ? ValueTask.CompletedTask : _backend.FlushAsync());
                break;

            case RequestGetId:
                int written = chain.Write(host.Dma, 0, _id.AsSpan(0, (int)Math.Min(IdBytes, chain.WritableLength - 1u)));
                Complete(queue, chain, StatusOk, (uint)written);
                break;

            default:
                Refuse(queue, chain, StatusUnsupported, $"request type {type} is not supported");
                break;
        }
    }

    /// <summary>Checks a data transfer and gives the request its host buffer; returns the byte offset, or null after refusing the request.</summary>
    private long? CheckData(BlockRequest request, uint dataBytes, ulong sector)
    {
        string? problem = null;
        ulong sectors = dataBytes / (uint)SectorSize;
        if (dataBytes % (uint)SectorSize != 0)
        {
            problem = $"{dataBytes} data bytes are not whole sectors";
        }
        else if (dataBytes > MaxRequestBytes)
        {
            problem = $"{dataBytes} data bytes exceed the {MaxRequestBytes}-byte request limit";
        }
        else if (sector > CapacitySectors || sectors > CapacitySectors - sector)
        {
            problem = $"sectors {sector}+{sectors} are beyond the {CapacitySectors}-sector image";
        }

        if (problem is not null)
        {
            Refuse(request.Queue, request.Chain, StatusIoError, problem);
            return null;
        }

        request.Rent((int)dataBytes);
        return (long)sector * SectorSize;
    }

    private void Start(BlockRequest request, ValueTask operation)
    {
        if (operation.IsCompleted)
        {
            Exception? error = null;
            try
            {
                operation.GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error = ex;
            }

            Finish(request, error);
            return;
        }

        long id = Interlocked.Increment(ref s_nextRequestId);
        var host = Host;
        request.Pending = operation.AsTask();
        _inFlight.Add(id, request);
        _inFlightBytes += request.BufferBytes;

        // Back to the slow path when done; the result stays in the task.
        request.Pending.ContinueWith(
            static (_, state) =>
            {
                var (post, completion) = ((IVirtioModelHost, BlockIoCompleted))state!;
                post.Post(completion);
            },
            (host, new BlockIoCompleted(id)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void Finish(BlockRequest request, Exception? error)
    {
        try
        {
            if (!request.Queue.IsLive)
            {
                // The device was reset or stopped meanwhile: the driver no longer owns this chain's memory through us.
                return;
            }

            byte status = StatusOk;
            if (error is not null)
            {
                status = StatusIoError;
                _host?.CountBadRequest($"I/O on '{_backend.Name}' failed: {error.Message}");
            }

            uint written = 0;
            if (status == StatusOk && request.Type == RequestIn)
            {
                written = (uint)request.Chain.Write(Host.Dma, 0, request.Data.Span);
            }

            Complete(request.Queue, request.Chain, status, written);
        }
        finally
        {
            request.Release();
        }
    }

    private void Refuse(Virtqueue queue, DescriptorChain chain, byte status, string reason)
    {
        Host.CountBadRequest(reason);
        Complete(queue, chain, status, 0);
    }

    /// <summary>Writes the status byte (the last writable byte) and returns the chain with the bytes written.</summary>
    private void Complete(Virtqueue queue, DescriptorChain chain, byte status, uint dataWritten)
    {
        int statusWritten = chain.Write(Host.Dma, chain.WritableLength - 1u, [status]);
        queue.Complete(chain, dataWritten + (uint)statusWritten);
    }

    private static async ValueTask WriteThrough(IBlockBackend backend, long offset, ReadOnlyMemory<byte> data)
    {
        await backend.WriteAsync(offset, data);
        await backend.FlushAsync();
    }

    /// <summary>A request taken from the ring, with its host buffer while it has one.</summary>
    private sealed class BlockRequest(Virtqueue queue, DescriptorChain chain, uint type)
    {
        private byte[]? _buffer;
        private int _length;

        public Virtqueue Queue { get; } = queue;

        public DescriptorChain Chain { get; } = chain;

        public uint Type { get; } = type;

        public Task? Pending { get; set; }

        public int BufferBytes => _length;

        public Memory<byte> Data => _buffer is null ? Memory<byte>.Empty : _buffer.AsMemory(0, _length);

        public void Rent(int length)
        {
            _buffer = length == 0 ? null : ArrayPool<byte>.Shared.Rent(length);
            _length = length;
        }

        public void Release()
        {
            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }
        }
    }
}

/// <summary>A virtio-blk operation handed to the backend has completed; its result is with the request <paramref name="RequestId"/>.</summary>
/// <param name="RequestId">Unique in the process, so a completion meant for an earlier incarnation is recognised as not ours.</param>
public sealed record BlockIoCompleted(long RequestId);
