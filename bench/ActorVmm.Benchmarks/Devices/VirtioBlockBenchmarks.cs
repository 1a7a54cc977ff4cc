using System.Buffers.Binary;
using ActorVmm.Actors.Devices;
using ActorVmm.Devices;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.TestSupport.Virtio;
using Akka.Actor;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using static ActorVmm.Devices.Virtio.Block.VirtioBlockProtocol;

namespace ActorVmm.Benchmarks.Devices;

/// <summary>
/// virtio-blk through the real queue path — a driver lays requests out in guest RAM, notifies through the MMIO register
/// (which only posts), and the device's slow path takes the chains, does the I/O on a raw image in /dev/shm (tmpfs) and
/// returns them — against the same requests served by plain pread/pwrite on a copy of the image, in the same run.
/// Per operation: one 4 KiB random read (IOPS = 1 / mean), or one 1 MiB sequential read or write (MB/s = 1 MiB / mean);
/// the Ratio column is queue path ÷ direct baseline within each category. Queue depth 32 for 4 KiB, 4 for 1 MiB; 1 MiB
/// requests use an indirect table of 16 × 64 KiB segments (the advertised size_max). The driver's own work (writing the
/// sector, publishing and reaping) is included in the queue path. <see cref="SlowPath"/> says where the device's slow path
/// runs: on the benchmark thread right after the notification (no hop), or on the device's real <see cref="DeviceActor"/>
/// in an actor system (the notification posts to its mailbox and the driver waits for the used index, as a guest would).
/// Run: dotnet run -c Release --project bench/ActorVmm.Benchmarks -- --filter '*VirtioBlock*' --job short
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class VirtioBlockBenchmarks
{
    private const long ImageBytes = 64L << 20;
    private const int SmallBytes = 4096;
    private const int LargeBytes = 1 << 20;
    private const int SegmentBytes = (int)VirtioBlock.MaxSegmentBytes;
    private const int SmallRequests = 4096;
    private const int LargeRequests = 64;
    private const int SmallDepth = 32;
    private const int LargeDepth = 4;
    private const ushort QueueSize = 256;
    private const ulong GuestRam = 128UL << 20;
    private const ulong RingArea = 0x1000;
    private const ulong RequestArea = 0x10_0000;

    private readonly long[] _randomOffsets = new long[SmallRequests];
    private readonly byte[] _directBuffer = new byte[LargeBytes];
    private string _imagePath = string.Empty;
    private string _directPath = string.Empty;
    private RawImageFile _image = null!;
    private Microsoft.Win32.SafeHandles.SafeFileHandle _direct = null!;
    private VirtioTestMachine _machine = null!;
    private DriverQueue _queue = null!;
    private Slot[] _slots = [];
    private long _sequentialOffset;
    private ushort _lastUsed;

    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(10);
    private ActorSystem? _system;

    /// <summary>Where the image's reads and writes run.</summary>
    [Params(BlockIoMode.Inline, BlockIoMode.ThreadPool)]
    public BlockIoMode Mode { get; set; }

    /// <summary>Where the device's slow path (queue work) runs.</summary>
    [Params(SlowPathHost.BenchThread, SlowPathHost.DeviceActor)]
    public SlowPathHost SlowPath { get; set; }

    [GlobalSetup(Targets = [nameof(DirectRandomRead4K), nameof(DirectSequentialRead1M), nameof(DirectSequentialWrite1M)])]
    public void SetupDirect() => Setup();

    [GlobalSetup(Targets = [nameof(QueueRandomRead4K)])]
    public void SetupSmallReads()
    {
        Setup();
        LayOut(SmallDepth, SmallBytes, dataWritable: true);
    }

    [GlobalSetup(Targets = [nameof(QueueSequentialRead1M)])]
    public void SetupLargeReads()
    {
        Setup();
        LayOut(LargeDepth, LargeBytes, dataWritable: true);
    }

    [GlobalSetup(Targets = [nameof(QueueSequentialWrite1M)])]
    public void SetupLargeWrites()
    {
        Setup();
        LayOut(LargeDepth, LargeBytes, dataWritable: false);
    }

    private void Setup()
    {
        string id = Guid.NewGuid().ToString("N");
        _imagePath = $"/dev/shm/actorvmm-bench-{id}.img";
        _directPath = $"/dev/shm/actorvmm-bench-{id}-direct.img";
        var contents = new byte[ImageBytes];
        new Random(42).NextBytes(contents);
        File.WriteAllBytes(_imagePath, contents);
        File.WriteAllBytes(_directPath, contents);
        var random = new Random(7);
        for (int i = 0; i < _randomOffsets.Length; i++)
        {
            _randomOffsets[i] = random.NextInt64(ImageBytes / SmallBytes) * SmallBytes;
        }

        _image = RawImageFile.Open(_imagePath, readOnly: false, Mode);
        _direct = File.OpenHandle(_directPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        if (SlowPath == SlowPathHost.BenchThread)
        {
            _machine = new VirtioTestMachine(GuestRam, _ => new VirtioBlock(_image, "bench"));
            return;
        }

        // The device's own actor, as the supervisor sets it up: a cell holding the instance, DeviceActor attached to it.
        _system = ActorSystem.Create("virtio-bench");
        var mailbox = new ActorMailbox();
        _machine = new VirtioTestMachine(GuestRam, _ => new VirtioBlock(_image, "bench"), slowPath: mailbox);
        var environment = new DeviceEnvironment("virtio-bench", (_, _) => _machine.Line, TimeProvider.System, NullGuestOutput.Instance, new NoPower(), _machine.Dma);
        var cell = new DeviceCell(new DeviceDefinition("virtio0", _ => _machine.Device), environment);
        cell.Install(_machine.Device);
        mailbox.Target = _system.ActorOf(DeviceActor.Props(cell), "virtio0");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _system?.Terminate().Wait();
        _machine.Dispose();
        _image.Dispose();
        _direct.Dispose();
        File.Delete(_imagePath);
        File.Delete(_directPath);
    }

    [BenchmarkCategory("4 KiB random read"), Benchmark(OperationsPerInvoke = SmallRequests)]
    public void QueueRandomRead4K() => RunQueue(RequestIn, SmallRequests, i => _randomOffsets[i]);

    [BenchmarkCategory("4 KiB random read"), Benchmark(Baseline = true, OperationsPerInvoke = SmallRequests)]
    public void DirectRandomRead4K()
    {
        var buffer = _directBuffer.AsSpan(0, SmallBytes);
        for (int i = 0; i < SmallRequests; i++)
        {
            RandomAccess.Read(_direct, buffer, _randomOffsets[i]);
        }
    }

    [BenchmarkCategory("1 MiB sequential read"), Benchmark(OperationsPerInvoke = LargeRequests)]
    public void QueueSequentialRead1M() => RunQueue(RequestIn, LargeRequests, NextSequential);

    [BenchmarkCategory("1 MiB sequential read"), Benchmark(Baseline = true, OperationsPerInvoke = LargeRequests)]
    public void DirectSequentialRead1M()
    {
        for (int i = 0; i < LargeRequests; i++)
        {
            RandomAccess.Read(_direct, _directBuffer, NextSequential(i));
        }
    }

    [BenchmarkCategory("1 MiB sequential write"), Benchmark(OperationsPerInvoke = LargeRequests)]
    public void QueueSequentialWrite1M() => RunQueue(RequestOut, LargeRequests, NextSequential);

    [BenchmarkCategory("1 MiB sequential write"), Benchmark(Baseline = true, OperationsPerInvoke = LargeRequests)]
    public void DirectSequentialWrite1M()
    {
        for (int i = 0; i < LargeRequests; i++)
        {
            RandomAccess.Write(_direct, _directBuffer, NextSequential(i));
        }
    }

    private long NextSequential(int i)
    {
        long offset = _sequentialOffset;
        _sequentialOffset = (_sequentialOffset + LargeBytes) % ImageBytes;
        return offset;
    }

    /// <summary>Serves <paramref name="count"/> requests with every slot in flight until all are answered.</summary>
    private void RunQueue(uint type, int count, Func<int, long> offset)
    {
        int submitted = 0;
        int answered = 0;
        var free = new Stack<int>(Enumerable.Range(0, _slots.Length));
        var bySlotHead = _slots.Select((slot, index) => (slot.Head, index)).ToDictionary(p => p.Head, p => p.index);
        Span<byte> header = stackalloc byte[HeaderBytes];
        while (answered < count)
        {
            bool published = false;
            while (submitted < count && free.Count > 0)
            {
                var slot = _slots[free.Pop()];
                header.Clear();
                BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderTypeOffset..], type);
                BinaryPrimitives.WriteUInt64LittleEndian(header[HeaderSectorOffset..], (ulong)(offset(submitted) / SectorSize));
                _machine.Dma.Write(slot.Header, header);
                _queue.MakeAvailable(slot.Head);
                submitted++;
                published = true;
            }

            if (published)
            {
                _machine.Driver.Notify(0);
            }

            WaitForAnswers();

            while (_lastUsed != _queue.UsedIndex)
            {
                _queue.TryTakeUsed(out var used);
                _lastUsed++;
                int index = bySlotHead[(ushort)used.Id];
                if (_machine.Dma.ReadByte(_slots[index].Status) != StatusOk)
                {
                    throw new InvalidOperationException($"request in slot {index} failed");
                }

                free.Push(index);
                answered++;
            }
        }
    }

    /// <summary>Until the used index moves: the bench thread runs the slow path itself, or waits for the device actor to.</summary>
    private void WaitForAnswers()
    {
        if (SlowPath == SlowPathHost.BenchThread)
        {
            if (_machine.RunSlowPath() == 0 && _queue.UsedIndex == _lastUsed && !_machine.Mailbox.WaitAndRun(_machine.Device, AnswerTimeout))
            {
                throw new TimeoutException("virtio-blk answered nothing for 10 s");
            }

            return;
        }

        var spin = new SpinWait();
        long deadline = Environment.TickCount64 + (long)AnswerTimeout.TotalMilliseconds;
        while (_queue.UsedIndex == _lastUsed)
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException("virtio-blk's actor answered nothing for 10 s");
            }

            spin.SpinOnce();
        }
    }

    /// <summary>
    /// Brings the device up and lays out <paramref name="depth"/> request slots: header, data (one buffer, or an indirect
    /// table of 64 KiB segments for large requests), status.
    /// </summary>
    private void LayOut(int depth, int dataBytes, bool dataWritable)
    {
        if (_machine.Driver.Negotiate(VirtioFeatures.Version1 | VirtioFeatures.IndirectDescriptors | VirtioFeatures.EventIndex | FeatureFlush) is null)
        {
            throw new InvalidOperationException("virtio-blk refused the benchmark's features");
        }

        _queue = DriverQueue.Allocate(_machine.Dma, new GuestArena(RingArea, RequestArea), QueueSize);
        _machine.Driver.SetUpQueue(0, _queue);
        _machine.Driver.DriverOk();
        if (SlowPath == SlowPathHost.BenchThread)
        {
            _machine.RunSlowPath();
        }
        _lastUsed = 0;
        _sequentialOffset = 0;

        ulong next = RequestArea;
        _slots = new Slot[depth];
        for (int i = 0; i < depth; i++)
        {
            ulong header = next;
            ulong status = header + HeaderBytes;
            ulong table = header + 0x100;
            ulong data = header + 0x1000;
            next = data + (ulong)dataBytes;
            bool segmented = dataBytes > SmallBytes;
            var buffers = new List<DriverBuffer> { DriverBuffer.Readable(header, HeaderBytes) };
            for (int offset = 0; offset < dataBytes; offset += segmented ? SegmentBytes : dataBytes)
            {
                buffers.Add(new DriverBuffer(data + (ulong)offset, (uint)(segmented ? SegmentBytes : dataBytes), dataWritable));
            }

            buffers.Add(DriverBuffer.Writable(status, 1));
            ushort head = segmented ? _queue.AddIndirectChain([.. buffers], table) : _queue.AddChain([.. buffers]);
            _slots[i] = new Slot(head, header, status);
        }
    }

    /// <summary>One request's chain and where its header and status byte are.</summary>
    private sealed record Slot(ushort Head, ulong Header, ulong Status);

    /// <summary>The device actor's mailbox: a Tell, as the supervisor's is (the target is set once the actor exists).</summary>
    private sealed class ActorMailbox : IDeviceMailbox
    {
        public IActorRef Target { get; set; } = ActorRefs.Nobody;

        public void Post(object message) => Target.Tell(message, ActorRefs.NoSender);
    }

    private sealed class NoPower : IVmPowerRequests
    {
        public void RequestReset(PowerRequestSource source)
        {
        }

        public void RequestStop(int exitStatus, PowerRequestSource source)
        {
        }
    }
}

/// <summary>Where a benchmarked device's slow path runs.</summary>
public enum SlowPathHost
{
    /// <summary>On the benchmark thread, right after the notification (no thread hop).</summary>
    BenchThread,

    /// <summary>On the device's DeviceActor in an actor system (one mailbox hop per notification and completion).</summary>
    DeviceActor,
}
