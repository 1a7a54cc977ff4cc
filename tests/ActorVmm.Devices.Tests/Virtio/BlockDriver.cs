using System.Buffers.Binary;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.TestSupport.Virtio;
using static ActorVmm.Devices.Virtio.Block.VirtioBlockProtocol;

namespace ActorVmm.Devices.Tests.Virtio;

/// <summary>A virtio-blk driver for tests: lays requests out as Linux's virtio_blk does (header, data, status) and reads the answers.</summary>
internal sealed class BlockDriver(VirtioTestMachine machine, DriverQueue queue)
{
    private ulong _nextSlot = VirtioRigs.Buffers;

    public VirtioTestMachine Machine { get; } = machine;

    public DriverQueue Queue { get; } = queue;

    /// <summary>Brings a block device up with <paramref name="features"/> and returns its driver.</summary>
    public static BlockDriver Start(VirtioTestMachine machine, ulong features = VirtioRigs.RingFeatures | FeatureFlush | FeatureBlockSize | FeatureSegMax | FeatureSizeMax | FeatureReadOnly) =>
        new(machine, VirtioRigs.Start(machine, features)[VirtioBlock.RequestQueue]);

    /// <summary>Lays out a request in fresh guest memory and makes it available (not yet notified).</summary>
    public BlockRequestLayout Submit(uint type, ulong sector, uint dataBytes = 0, byte[]? data = null, bool indirect = false)
    {
        ulong header = _nextSlot;
        ulong buffer = header + 0x100;
        ulong status = buffer + Math.Max(dataBytes, 1) + 0x100;
        _nextSlot = (status + 0x1000) & ~0xFFFUL;

        Span<byte> bytes = stackalloc byte[HeaderBytes];
        bytes.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[HeaderTypeOffset..], type);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[HeaderSectorOffset..], sector);
        Machine.Dma.Write(header, bytes);
        Machine.Dma.WriteByte(status, 0xEE);
        if (data is not null)
        {
            Machine.Dma.Write(buffer, data);
        }

        var buffers = new List<DriverBuffer> { DriverBuffer.Readable(header, HeaderBytes) };
        if (dataBytes > 0)
        {
            buffers.Add(new DriverBuffer(buffer, dataBytes, DeviceWritable: type != RequestOut));
        }

        buffers.Add(DriverBuffer.Writable(status, 1));
        ushort head;
        if (indirect)
        {
            ulong table = _nextSlot;
            _nextSlot += 0x1000;
            head = Queue.AddIndirectChain([.. buffers], table);
        }
        else
        {
            head = Queue.AddChain([.. buffers]);
        }

        Queue.MakeAvailable(head);
        return new BlockRequestLayout(head, buffer, dataBytes, status);
    }

    /// <summary>Submits, notifies and runs the slow path until the device has answered (completions may come from the thread pool).</summary>
    public (UsedElement Used, byte Status) Run(uint type, ulong sector, uint dataBytes = 0, byte[]? data = null)
    {
        var request = Submit(type, sector, dataBytes, data);
        Machine.Driver.Notify(0);
        return Await(request);
    }

    /// <summary>Runs the slow path until the used ring has an entry, and returns it with the request's status byte.</summary>
    public (UsedElement Used, byte Status) Await(BlockRequestLayout request)
    {
        UsedElement used = default;
        RunSlowPathUntil(() => Queue.TryTakeUsed(out used), "the device did not answer");
        Assert.Equal(request.Head, used.Id);
        return (used, Machine.Dma.ReadByte(request.Status));
    }

    /// <summary>
    /// Runs the slow path until <paramref name="done"/> holds (30 s at most): a backend completion reaches the device
    /// through a thread-pool continuation, so one pass of the mailbox right after it may come too early.
    /// </summary>
    public void RunSlowPathUntil(Func<bool> done, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        Machine.RunSlowPath();
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            Machine.Mailbox.WaitAndRun(Machine.Device, TimeSpan.FromMilliseconds(100));
        }
    }

    public byte[] Data(BlockRequestLayout request) => VirtioRigs.Bytes(Machine, request.Buffer, (int)request.DataBytes);
}

/// <summary>Where a submitted request lives in guest memory.</summary>
internal readonly record struct BlockRequestLayout(ushort Head, ulong Buffer, uint DataBytes, ulong Status);
