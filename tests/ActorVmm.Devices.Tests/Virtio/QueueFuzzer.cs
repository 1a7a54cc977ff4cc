using System.Buffers.Binary;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.Devices.Virtio.Console;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.Devices.Virtio.Rng;
using ActorVmm.Machine.Memory;
using ActorVmm.TestSupport.Virtio;

namespace ActorVmm.Devices.Tests.Virtio;

/// <summary>The devices the queue fuzzer drives.</summary>
internal enum FuzzedDevice
{
    Entropy,
    Block,
    Console,
    Network,
}

/// <summary>
/// Drives one virtio-mmio device with random descriptor tables and available rings, cheaply generated from a seed,
/// and checks every step against an independent reading of the split-ring rules (<see cref="Walk"/>): the device never
/// throws, sets DEVICE_NEEDS_RESET exactly when a chain it reached is malformed, returns every well-formed chain it
/// reached in order with a used length within the chain's writable part (exactly the bytes a device writes), and writes
/// guest memory only in the used rings and the writable buffers of those chains (seen through the memory's write
/// observer). Memory layout (64 KiB of RAM): rings below 0x2000, indirect tables in [0x2000, 0x4000), buffers in
/// [0x4000, 0x10000). Buffers never overlap tables, so what a device writes cannot change a chain it has still to read.
/// The network card gets host frames through a fake tap now and then; its model keeps the receive chain the device holds
/// while the tap is empty, drops frames too large for their chain, and checks every frame sent and received byte for byte.
/// </summary>
internal sealed class QueueFuzzer : IDisposable
{
    private const ulong Ram = 0x1_0000;
    private const ulong TableRegion = 0x2000;
    private const ulong BufferRegion = 0x4000;
    private const int MaxIndirect = 8;

    private static readonly uint[] RequestTypes = [VirtioBlockProtocol.RequestIn, VirtioBlockProtocol.RequestOut, VirtioBlockProtocol.RequestFlush, VirtioBlockProtocol.RequestGetId];

    private static readonly (ulong Table, ulong Available, ulong Used)[] QueueAreas = [(0x0000, 0x0400, 0x0800), (0x1000, 0x1400, 0x1800)];

    private readonly FuzzedDevice _kind;
    private readonly Random _random;
    private readonly VirtioTestMachine _machine;
    private readonly WriteRecorder _writes = new();
    private readonly CountingOutput _output = new();
    private readonly QueueModel[] _queues;
    private readonly List<(ulong Address, ulong Length)> _allowed = [];
    private readonly List<Expected> _expected = [];
    private readonly List<Expected> _returned = [];
    private readonly List<(ulong Address, ulong Length)> _ranges = [];
    private readonly List<ushort> _heads = [];
    private ulong _nextTable;
    private bool _running;
    private bool _indirect;
    private long _inputAdded;
    private long _inputDelivered;
    private readonly FakeNetworkTap _tap = new();
    private readonly VirtioNetCounters _netCounters = new();
    private readonly Queue<byte[]> _frames = new();
    private readonly List<byte[]> _expectedSent = [];
    private (ushort Head, ChainModel Chain)? _held;
    private long _framesMade;
    private long _tooLarge;

    public QueueFuzzer(FuzzedDevice kind, ulong seed)
    {
        _kind = kind;
        _random = new Random((int)(seed ^ (seed >> 32)));
        _machine = new VirtioTestMachine(Ram, context => kind switch
        {
            FuzzedDevice.Entropy => new VirtioRng(span => span.Fill(0x5A)),
            FuzzedDevice.Block => new VirtioBlock(new ManualBlockBackend(64 * VirtioBlockProtocol.SectorSize) { AutoComplete = true }, "fuzz"),
            FuzzedDevice.Network => new VirtioNet(_tap, MacAddress.DefaultGuest, _netCounters),
            _ => new VirtioConsole(context.Input, context.Output),
        }, _output);
        _machine.Memory.WriteObserver = _writes;
        _queues = new QueueModel[kind is FuzzedDevice.Console or FuzzedDevice.Network ? 2 : 1];
    }

    /// <summary>Random tables and rings the device was given.</summary>
    public long Tables { get; private set; }

    /// <summary>Chains returned by the device, over the whole run.</summary>
    public long ChainsUsed { get; private set; }

    /// <summary>Frames the network card sent and received over the run.</summary>
    public (long Sent, long Received) Frames => (_tap.SentCount, _netCounters.FramesReceived);

    /// <summary>Times the device (rightly) set DEVICE_NEEDS_RESET.</summary>
    public long Resets { get; private set; }

    public void Dispose() => _machine.Dispose();

    /// <summary>Runs <paramref name="tables"/> random tables and rings; throws (an xunit assertion) at the first deviation.</summary>
    public void Run(int tables)
    {
        for (int i = 0; i < tables; i++)
        {
            if (!_running || _random.Next(256) == 0)
            {
                Restart();
            }

            Step();
            Tables++;
        }
    }

    private Span<byte> RamSpan => _machine.Memory.GetSpan(0, (int)Ram);

    private void Restart()
    {
        _indirect = _random.Next(4) != 0;
        ulong wanted = VirtioFeatures.Version1
            | (_indirect ? VirtioFeatures.IndirectDescriptors : 0)
            | (_random.Next(2) == 0 ? VirtioFeatures.EventIndex : 0)
            | (_random.Next(2) == 0 ? VirtioBlockProtocol.FeatureFlush : 0);
        Assert.NotNull(_machine.Driver.Negotiate(wanted));
        RamSpan[..(int)TableRegion].Clear();
        for (int q = 0; q < _queues.Length; q++)
        {
            ushort size = (ushort)(1 << _random.Next(5));
            _queues[q] = new QueueModel(size, QueueAreas[q].Table, QueueAreas[q].Available, QueueAreas[q].Used);
            _machine.Driver.SetUpQueue(q, size, QueueAreas[q].Table, QueueAreas[q].Available, QueueAreas[q].Used);
        }

        // The reset dropped the receive chain a network card held; frames stay in the tap.
        _held = null;
        _machine.Driver.DriverOk();
        _machine.RunSlowPath();
        Assert.Equal(VirtioStatus.Acknowledge | VirtioStatus.Driver | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk, _machine.Device.Core.Status);
        _running = true;
    }

    private void Step()
    {
        int q = _queues.Length == 1 ? 0 : _random.Next(2);
        var queue = _queues[q];
        _nextTable = TableRegion;
        var ram = RamSpan;
        var heads = WriteTable(ram, queue.Table, queue.Size);
        Publish(ram, queue, heads);

        bool inputAdded = _kind == FuzzedDevice.Console && _random.Next(2) == 0;
        long remaining = _inputAdded - _inputDelivered;
        if (inputAdded)
        {
            int n = _random.Next(1, 96);
            Span<byte> bytes = stackalloc byte[n];
            for (int i = 0; i < n; i++)
            {
                bytes[i] = InputByte(_inputAdded + i);
            }

            _machine.Input.Add(bytes);
            _inputAdded += n;
        }

        // Host frames: a tap the device asked to watch answers with one readiness message, ahead of the notification.
        bool framesAdded = _kind == FuzzedDevice.Network && _random.Next(2) == 0;
        bool readinessPosted = framesAdded && _tap.IsWaitingForFrame;
        int sentBefore = _tap.SentCount;
        if (framesAdded)
        {
            for (int n = 1 + _random.Next(3); n > 0; n--)
            {
                byte[] frame = MakeFrame();
                _frames.Enqueue(frame);
                _tap.Deliver(frame);
            }
        }

        _writes.Clear();
        _allowed.Clear();
        _expected.Clear();
        _expectedSent.Clear();
        long outputBefore = _output.Count;

        // The device: input first (the actor hands it over at once), then the notification on the slow path.
        if (inputAdded)
        {
            _machine.Device.OnInputAvailable();
        }

        _machine.Driver.Notify(q);
        _machine.RunSlowPath();

        // The model, in the same order.
        long transmitted = 0;
        remaining = _inputAdded - _inputDelivered;
        bool malformed = _kind == FuzzedDevice.Network
            ? (readinessPosted && SimulateNetworkReceive()) || (q == VirtioNetProtocol.ReceiveQueue ? SimulateNetworkReceive() : Simulate(q, ref remaining, ref transmitted))
            : (inputAdded && Simulate(VirtioConsole.ReceiveQueue, ref remaining, ref transmitted)) || Simulate(q, ref remaining, ref transmitted);
        if (malformed)
        {
            _held = null;
        }

        Check(malformed, transmitted, outputBefore);
        if (_kind == FuzzedDevice.Network)
        {
            CheckNetwork(sentBefore);
        }
    }

    /// <summary>
    /// What the network card must have done with its receive queue in one pass: the held chain first, then chains from
    /// the ring; a chain too small for the header comes back empty; with no frame left the chain is held; a frame too large
    /// for the chain is dropped and the chain kept. True when a ring or chain it reached is malformed.
    /// </summary>
    private bool SimulateNetworkReceive()
    {
        var queue = _queues[VirtioNetProtocol.ReceiveQueue];
        var ram = RamSpan;
        while (true)
        {
            ushort head;
            ChainModel chain;
            if (_held is { } held)
            {
                (head, chain) = held;
                _held = null;
            }
            else
            {
                ushort pending = (ushort)(queue.AvailableIndex - queue.NextAvailable);
                if (pending == 0)
                {
                    return false;
                }

                if (pending > queue.Size)
                {
                    return true;
                }

                head = BinaryPrimitives.ReadUInt16LittleEndian(ram[(int)(queue.Available + 4 + (2UL * (ulong)(queue.NextAvailable % queue.Size)))..]);
                if (Walk(ram, head, queue.Size, queue.Table, _indirect) is not { } walked)
                {
                    return true;
                }

                chain = walked;
                queue.NextAvailable++;
            }

            if (chain.WritableLength < VirtioNetProtocol.HeaderBytes)
            {
                _expected.Add(new Expected(VirtioNetProtocol.ReceiveQueue, head, chain, 0, -1));
                continue;
            }

            if (!_frames.TryPeek(out var frame))
            {
                _held = (head, chain);
                return false;
            }

            _frames.Dequeue();
            if (VirtioNetProtocol.HeaderBytes + frame.Length > chain.WritableLength)
            {
                _tooLarge++;
                _held = (head, chain);
                continue;
            }

            byte[] packet = new byte[VirtioNetProtocol.HeaderBytes + frame.Length];
            packet[VirtioNetProtocol.HeaderNumBuffersOffset] = 1;
            frame.CopyTo(packet, VirtioNetProtocol.HeaderBytes);
            _expected.Add(new Expected(VirtioNetProtocol.ReceiveQueue, head, chain, (uint)packet.Length, -1) { Content = packet });
            _allowed.AddRange(chain.Writable);
        }
    }

    /// <summary>Frames sent are exactly the well-formed transmit chains' frames in order; received packets landed whole; the tap holds what the model holds.</summary>
    private void CheckNetwork(int sentBefore)
    {
        int sent = _tap.SentCount - sentBefore;
        if (sent != _expectedSent.Count)
        {
            Assert.Fail($"{sent} frames sent, the model expects {_expectedSent.Count}");
        }

        for (int i = 0; i < _expectedSent.Count; i++)
        {
            if (!_tap.SentAt(sentBefore + i).AsSpan().SequenceEqual(_expectedSent[i]))
            {
                Assert.Fail($"frame {i} of this step was sent with other bytes than its chain held");
            }
        }

        Assert.Equal(_frames.Count, _tap.WaitingFrames);
        Assert.Equal(_tooLarge, _netCounters.ReceiveTooLarge);

        var received = _expected.Where(e => e.Content is not null).ToList();
        var ranges = received.SelectMany(e => e.Chain.Writable).OrderBy(r => r.Address).ToList();
        for (int i = 1; i < ranges.Count; i++)
        {
            if (ranges[i - 1].Address + ranges[i - 1].Length > ranges[i].Address)
            {
                return; // Overlapping buffers: a later packet may have overwritten an earlier one.
            }
        }

        var ram = RamSpan;
        foreach (var expected in received)
        {
            int at = 0;
            byte[] content = expected.Content!;
            foreach (var (address, length) in expected.Chain.Writable)
            {
                int n = (int)Math.Min(length, (ulong)(content.Length - at));
                if (!ram.Slice((int)address, n).SequenceEqual(content.AsSpan(at, n)))
                {
                    Assert.Fail($"received packet in chain {expected.Head} differs from the header and frame the tap gave");
                }

                at += n;
            }
        }
    }

    /// <summary>A host frame of 14 to 699 bytes whose content follows a running counter.</summary>
    private byte[] MakeFrame()
    {
        var frame = new byte[VirtioNetProtocol.MinFrameBytes + _random.Next(686)];
        long k = _framesMade++;
        for (int i = 0; i < frame.Length; i++)
        {
            frame[i] = (byte)((k * 13) + (i * 7) + 1);
        }

        return frame;
    }

    /// <summary>What the device must have done with queue <paramref name="q"/>; true when it must have found a malformed ring or chain.</summary>
    private bool Simulate(int q, ref long remainingInput, ref long transmitted)
    {
        var queue = _queues[q];
        bool receive = _kind == FuzzedDevice.Console && q == VirtioConsole.ReceiveQueue;
        var ram = RamSpan;
        while (true)
        {
            if (receive && remainingInput == 0)
            {
                return false;
            }

            ushort pending = (ushort)(queue.AvailableIndex - queue.NextAvailable);
            if (pending == 0)
            {
                return false;
            }

            if (pending > queue.Size)
            {
                return true;
            }

            ushort head = BinaryPrimitives.ReadUInt16LittleEndian(ram[(int)(queue.Available + 4 + (2UL * (ulong)(queue.NextAvailable % queue.Size)))..]);
            if (Walk(ram, head, queue.Size, queue.Table, _indirect) is not { } chain)
            {
                return true;
            }

            uint exact = _kind switch
            {
                FuzzedDevice.Entropy => Math.Min(chain.WritableLength, VirtioRng.MaxBytesPerRequest),
                FuzzedDevice.Console when receive => (uint)Math.Min(chain.WritableLength, remainingInput),
                FuzzedDevice.Console or FuzzedDevice.Network => 0,
                _ => uint.MaxValue,
            };
            _expected.Add(new Expected(q, head, chain, exact, receive ? _inputAdded - remainingInput : -1));
            _allowed.AddRange(chain.Writable);
            if (receive)
            {
                remainingInput -= exact;
            }
            else if (_kind == FuzzedDevice.Console)
            {
                transmitted += chain.ReadableLength;
            }
            else if (_kind == FuzzedDevice.Network && ExpectedFrame(ram, chain) is { } frame)
            {
                _expectedSent.Add(frame);
            }

            queue.NextAvailable++;
        }
    }

    private void Check(bool malformed, long transmitted, long outputBefore)
    {
        var core = _machine.Device.Core;
        bool needsReset = (core.Status & VirtioStatus.DeviceNeedsReset) != 0;
        if (malformed != needsReset)
        {
            Assert.Fail($"device needs reset: {needsReset}, model found a malformed ring or chain: {malformed}");
        }
        if (needsReset)
        {
            Assert.NotEqual(0u, _machine.Device.InterruptStatus & VirtioMmioRegisters.InterruptConfigChange);
            Resets++;
            _running = false;
        }

        var ram = RamSpan;
        for (int q = 0; q < _queues.Length; q++)
        {
            var queue = _queues[q];
            _returned.Clear();
            foreach (var expected in _expected)
            {
                if (expected.Queue == q)
                {
                    _returned.Add(expected);
                }
            }

            var returned = _returned;
            ushort usedIndex = BinaryPrimitives.ReadUInt16LittleEndian(ram[(int)(queue.Used + SplitRing.UsedIndexOffset)..]);
            if ((ushort)(queue.NextUsed + returned.Count) != usedIndex)
            {
                Assert.Fail($"used index {usedIndex}, model {(ushort)(queue.NextUsed + returned.Count)}; {Describe(ram, queue)}");
            }
            foreach (var expected in returned)
            {
                int element = (int)(queue.Used + SplitRing.UsedRingOffset + ((ulong)(queue.NextUsed % queue.Size) * SplitRing.UsedElementSize));
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(ram[element..]);
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(ram[(element + 4)..]);
                if (id != expected.Head || length > expected.Chain.WritableLength || (expected.ExactLength != uint.MaxValue && length != expected.ExactLength))
                {
                    Assert.Fail($"used element ({id}, {length}); the model expects head {expected.Head}, at most {expected.Chain.WritableLength} bytes (exactly {expected.ExactLength} if not {uint.MaxValue})");
                }

                queue.NextUsed++;
                ChainsUsed++;
            }
        }

        foreach (var queue in _queues)
        {
            _allowed.Add((queue.Used, SplitRing.UsedRingBytes(queue.Size)));
        }

        foreach (var (address, length) in _writes.Writes)
        {
            bool inside = false;
            foreach (var allowed in _allowed)
            {
                inside |= address >= allowed.Address && address - allowed.Address + length <= allowed.Length;
            }

            if (!inside)
            {
                Assert.Fail($"the device wrote [0x{address:X}, +0x{length:X}), outside the used rings and the writable buffers it was given");
            }
        }

        if (_kind == FuzzedDevice.Console)
        {
            Assert.Equal(outputBefore + transmitted, _output.Count);
            CheckReceivedBytes(ram);

            // Every input byte is either delivered or still waiting: none lost, none delivered twice.
            Assert.Equal(_inputAdded - _inputDelivered, _machine.Input.Count);
        }
    }

    /// <summary>Each receive buffer holds the next input bytes, in order, once (checked where the chains' buffers do not overlap).</summary>
    private void CheckReceivedBytes(Span<byte> ram)
    {
        _ranges.Clear();
        foreach (var expected in _expected)
        {
            if (expected.InputStart >= 0)
            {
                _ranges.AddRange(expected.Chain.Writable);
            }
        }

        if (_ranges.Count == 0)
        {
            return;
        }

        _ranges.Sort((a, b) => a.Address.CompareTo(b.Address));
        bool disjoint = true;
        for (int i = 1; i < _ranges.Count; i++)
        {
            disjoint &= _ranges[i - 1].Address + _ranges[i - 1].Length <= _ranges[i].Address;
        }

        foreach (var expected in _expected)
        {
            if (expected.InputStart < 0)
            {
                continue;
            }

            long position = expected.InputStart;
            uint left = expected.ExactLength;
            foreach (var (address, length) in expected.Chain.Writable)
            {
                for (uint i = 0; i < length && left > 0 && disjoint; i++, left--, position++)
                {
                    if (ram[(int)(address + i)] != InputByte(position))
                    {
                        Assert.Fail($"input byte {position} arrived as 0x{ram[(int)(address + i)]:X2}, not 0x{InputByte(position):X2}");
                    }
                }
            }

            _inputDelivered += expected.ExactLength;
        }
    }

    private string Describe(Span<byte> ram, QueueModel queue)
    {
        var text = new System.Text.StringBuilder($"size {queue.Size} indirect {_indirect} avail {queue.AvailableIndex} next {queue.NextAvailable} used {queue.NextUsed} status {_machine.Device.Core.Status}; ring:");
        for (int i = 0; i < queue.Size; i++)
        {
            text.Append(' ').Append(BinaryPrimitives.ReadUInt16LittleEndian(ram[(int)(queue.Available + 4 + (2UL * (ulong)i))..]));
        }

        text.Append("; table:");
        for (int i = 0; i < queue.Size; i++)
        {
            var d = ram.Slice((int)(queue.Table + ((ulong)i * 16)), 16);
            text.Append($" [{i}: 0x{BinaryPrimitives.ReadUInt64LittleEndian(d):X}+{BinaryPrimitives.ReadUInt32LittleEndian(d[8..])} f{BinaryPrimitives.ReadUInt16LittleEndian(d[12..])} n{BinaryPrimitives.ReadUInt16LittleEndian(d[14..])}]");
        }

        return text.ToString();
    }

    /// <summary>The frame a transmit chain carries when its size is right and its header asks for no offload, else null.</summary>
    private static byte[]? ExpectedFrame(Span<byte> ram, ChainModel chain)
    {
        if (chain.ReadableLength is < VirtioNetProtocol.HeaderBytes + VirtioNetProtocol.MinFrameBytes or > VirtioNetProtocol.HeaderBytes + VirtioNetProtocol.MaxFrameBytes)
        {
            return null;
        }

        var packet = new List<byte>((int)chain.ReadableLength);
        foreach (var (address, length) in chain.Readable)
        {
            packet.AddRange(ram.Slice((int)address, (int)length));
        }

        return packet[VirtioNetProtocol.HeaderFlagsOffset] == 0 && packet[VirtioNetProtocol.HeaderGsoTypeOffset] == VirtioNetProtocol.GsoNone
            ? [.. packet.Skip(VirtioNetProtocol.HeaderBytes)]
            : null;
    }

    private static byte InputByte(long position) => (byte)((position * 31) + 7);

    private void Publish(Span<byte> ram, QueueModel queue, List<ushort> heads)
    {
        int pending = (ushort)(queue.AvailableIndex - queue.NextAvailable);

        // A driver never has more buffers out than the ring has entries: a receive chain the card holds counts.
        int held = _kind == FuzzedDevice.Network && queue == _queues[VirtioNetProtocol.ReceiveQueue] && _held is not null ? 1 : 0;
        int room = queue.Size - pending - held;
        if (_random.Next(128) == 0)
        {
            // A driver bug: the index jumps past what the ring can hold.
            queue.AvailableIndex += (ushort)(queue.Size + 1 + _random.Next(1000));
        }
        else if (room > 0)
        {
            int count = 1 + _random.Next(room);
            for (int i = 0; i < count; i++)
            {
                ushort head = _random.Next(128) == 0 ? (ushort)_random.Next(ushort.MaxValue + 1) : heads[_random.Next(heads.Count)];
                BinaryPrimitives.WriteUInt16LittleEndian(ram[(int)(queue.Available + 4 + (2UL * (ulong)((queue.AvailableIndex + i) % queue.Size)))..], head);
            }

            queue.AvailableIndex += (ushort)count;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(ram[(int)queue.Available..], (ushort)_random.Next(4));
        BinaryPrimitives.WriteUInt16LittleEndian(ram[(int)(queue.Available + 4 + (2UL * queue.Size))..], (ushort)_random.Next(ushort.MaxValue + 1));
        BinaryPrimitives.WriteUInt16LittleEndian(ram[(int)(queue.Available + SplitRing.AvailableIndexOffset)..], queue.AvailableIndex);
    }

    /// <summary>
    /// Fills a queue's descriptor table: mostly proper chains (readable buffers, then writable ones; block requests laid
    /// out as header, data, status; some behind indirect tables) with now and then one field corrupted, and sometimes
    /// pure noise. Returns the chain heads, which the available ring mostly names.
    /// </summary>
    private List<ushort> WriteTable(Span<byte> ram, ulong table, int size)
    {
        var heads = _heads;
        heads.Clear();
        if (_random.Next(16) == 0)
        {
            for (int i = 0; i < size; i++)
            {
                WriteNoise(ram, table, i, size);
                heads.Add((ushort)i);
            }

            return heads;
        }

        Span<ushort> order = stackalloc ushort[size];
        for (int i = 0; i < size; i++)
        {
            order[i] = (ushort)i;
        }

        _random.Shuffle(order);
        Span<ushort> inner = stackalloc ushort[MaxIndirect];
        for (int i = 0; i < MaxIndirect; i++)
        {
            inner[i] = (ushort)i;
        }

        int at = 0;
        while (at < size)
        {
            int length = Math.Min(size - at, 1 + _random.Next(4));
            var chain = order.Slice(at, length);
            at += length;
            heads.Add(chain[0]);
            if (_random.Next(6) == 0 && _nextTable < BufferRegion)
            {
                // The chain's buffers go into an indirect table behind its head; the rest of its slots stay unused.
                int entries = 1 + _random.Next(MaxIndirect);
                ulong indirect = _nextTable;
                _nextTable += (ulong)(MaxIndirect * SplitRing.DescriptorSize);
                WriteChain(ram, indirect, inner[..entries]);
                WriteDescriptor(ram, table, chain[0], indirect, (uint)(entries * SplitRing.DescriptorSize), SplitRing.DescriptorIndirect, 0);
            }
            else
            {
                WriteChain(ram, table, chain);
            }
        }

        if (_random.Next(10) == 0)
        {
            Corrupt(ram, table, size);
        }

        return heads;
    }

    /// <summary>A proper chain over <paramref name="slots"/>: readable buffers first, then writable ones (a block request: header, data, status).</summary>
    private void WriteChain(Span<byte> ram, ulong table, ReadOnlySpan<ushort> slots)
    {
        int readable = _random.Next(slots.Length + 1);
        bool block = _kind == FuzzedDevice.Block && _random.Next(4) != 0;
        bool dataWritable = _random.Next(2) == 0;
        for (int i = 0; i < slots.Length; i++)
        {
            bool last = i == slots.Length - 1;
            bool writable;
            uint length;
            if (block)
            {
                // Header (readable), data sectors (readable for a write, writable for a read), status byte (writable).
                writable = last || (i > 0 && dataWritable);
                length = i == 0 && !last ? (uint)VirtioBlockProtocol.HeaderBytes : last ? 1u : (uint)(VirtioBlockProtocol.SectorSize * (1 + _random.Next(4)));
            }
            else
            {
                writable = i >= readable;
                length = (uint)_random.Next(600);
            }

            ulong address = BufferAddress(length);
            if (block && i == 0 && !last)
            {
                uint type = _random.Next(8) switch
                {
                    0 => (uint)_random.Next(32),
                    1 => RequestTypes[_random.Next(RequestTypes.Length)],
                    _ => dataWritable ? VirtioBlockProtocol.RequestIn : VirtioBlockProtocol.RequestOut,
                };
                var header = ram.Slice((int)address, VirtioBlockProtocol.HeaderBytes);
                BinaryPrimitives.WriteUInt32LittleEndian(header, type);
                BinaryPrimitives.WriteUInt64LittleEndian(header[VirtioBlockProtocol.HeaderSectorOffset..], (ulong)_random.Next(72));
            }

            if (_kind == FuzzedDevice.Network && i == 0 && !writable && _random.Next(4) != 0)
            {
                // A transmit packet's header: mostly the all-zero one a driver without offloads writes.
                ram.Slice((int)address, (int)Math.Min(length, (uint)VirtioNetProtocol.HeaderBytes)).Clear();
            }

            ushort flags = (ushort)((writable ? SplitRing.DescriptorWrite : 0) | (last ? 0 : SplitRing.DescriptorNext));
            WriteDescriptor(ram, table, slots[i], address, length, flags, last ? (ushort)0 : slots[i + 1]);
        }
    }

    /// <summary>A buffer address inside the buffer region with room for <paramref name="length"/> bytes.</summary>
    private ulong BufferAddress(uint length) => BufferRegion + (ulong)_random.Next((int)(Ram - BufferRegion - length + 1));

    /// <summary>Breaks one field of one descriptor in the main table or an indirect table written this step.</summary>
    private void Corrupt(Span<byte> ram, ulong table, int size)
    {
        int index = _random.Next(size);
        if (_nextTable > TableRegion && _random.Next(3) == 0)
        {
            table = TableRegion + ((ulong)_random.Next((int)((_nextTable - TableRegion) / (MaxIndirect * SplitRing.DescriptorSize))) * (MaxIndirect * SplitRing.DescriptorSize));
            index = _random.Next(MaxIndirect);
        }

        var descriptor = ram.Slice((int)(table + ((ulong)index * SplitRing.DescriptorSize)), SplitRing.DescriptorSize);
        switch (_random.Next(8))
        {
            case 0:
                BinaryPrimitives.WriteUInt16LittleEndian(descriptor[SplitRing.DescriptorNextOffset..], (ushort)_random.Next(ushort.MaxValue + 1));
                break;
            case 1:
                // NEXT and WRITE flipped at random; INDIRECT kept, so a table never turns into a buffer the device may write.
                ushort indirect = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(descriptor[SplitRing.DescriptorFlagsOffset..]) & SplitRing.DescriptorIndirect);
                BinaryPrimitives.WriteUInt16LittleEndian(descriptor[SplitRing.DescriptorFlagsOffset..], (ushort)(indirect | _random.Next(4)));
                break;
            case 2:
                BinaryPrimitives.WriteUInt64LittleEndian(descriptor, Ram - (ulong)_random.Next(32));
                break;
            case 3:
                BinaryPrimitives.WriteUInt64LittleEndian(descriptor, ulong.MaxValue - (ulong)_random.Next(64));
                break;
            case 4:
                BinaryPrimitives.WriteUInt32LittleEndian(descriptor[SplitRing.DescriptorLengthOffset..], (uint)_random.NextInt64(uint.MaxValue + 1L));
                break;
            case 5:
                BinaryPrimitives.WriteUInt16LittleEndian(descriptor[SplitRing.DescriptorNextOffset..], (ushort)_random.Next(size));
                break;
            case 6:
                // An indirect descriptor in an indirect table, or an indirect table of a bad length.
                BinaryPrimitives.WriteUInt16LittleEndian(descriptor[SplitRing.DescriptorFlagsOffset..], SplitRing.DescriptorIndirect);
                BinaryPrimitives.WriteUInt64LittleEndian(descriptor, TableRegion);
                BinaryPrimitives.WriteUInt32LittleEndian(descriptor[SplitRing.DescriptorLengthOffset..], (uint)_random.Next(200));
                break;
            default:
                BinaryPrimitives.WriteUInt16LittleEndian(descriptor[SplitRing.DescriptorFlagsOffset..], (ushort)(SplitRing.DescriptorIndirect | SplitRing.DescriptorNext));
                break;
        }
    }

    /// <summary>A descriptor with every field random (mostly within the buffer region).</summary>
    private void WriteNoise(Span<byte> ram, ulong table, int index, int count)
    {
        uint length = (uint)_random.Next(600);
        ulong address = _random.Next(40) switch
        {
            0 => Ram - (ulong)_random.Next(32),
            1 => ulong.MaxValue - (ulong)_random.Next(64),
            _ => BufferAddress(length),
        };
        if (_random.Next(40) == 0)
        {
            length = (uint)_random.NextInt64(uint.MaxValue + 1L);
        }

        ushort flags = (ushort)_random.Next(8);
        if ((flags & SplitRing.DescriptorIndirect) != 0)
        {
            address = TableRegion + (ulong)(16 * _random.Next(64));
            length = (uint)(16 * _random.Next(10));
        }

        ushort next = _random.Next(16) == 0 ? (ushort)_random.Next(ushort.MaxValue + 1) : (ushort)_random.Next(count);
        WriteDescriptor(ram, table, index, address, length, flags, next);
    }

    private static void WriteDescriptor(Span<byte> ram, ulong table, int index, ulong address, uint length, ushort flags, ushort next)
    {
        var descriptor = ram.Slice((int)(table + ((ulong)index * SplitRing.DescriptorSize)), SplitRing.DescriptorSize);
        BinaryPrimitives.WriteUInt64LittleEndian(descriptor, address);
        BinaryPrimitives.WriteUInt32LittleEndian(descriptor[SplitRing.DescriptorLengthOffset..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[SplitRing.DescriptorFlagsOffset..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[SplitRing.DescriptorNextOffset..], next);
    }

    /// <summary>
    /// An independent reading of virtio 1.2 §2.7.5 for one chain: null when a rule is broken, else its writable buffers.
    /// RAM is [0, <see cref="Ram"/>).
    /// </summary>
    private static ChainModel? Walk(ReadOnlySpan<byte> ram, ushort head, int size, ulong table, bool indirectAllowed)
    {
        static bool InRam(ulong address, ulong length) => address <= Ram && length <= Ram - address;

        if (head >= size)
        {
            return null;
        }

        var writable = new List<(ulong, ulong)>();
        var readable = new List<(ulong, ulong)>();
        ulong total = 0;
        ulong writableLength = 0;
        ulong readableLength = 0;
        bool seenWritable = false;
        bool inIndirect = false;
        int tableSize = size;
        int visited = 0;
        int index = head;
        while (true)
        {
            if (++visited > tableSize)
            {
                return null;
            }

            var descriptor = ram.Slice((int)(table + ((ulong)index * SplitRing.DescriptorSize)), SplitRing.DescriptorSize);
            ulong address = BinaryPrimitives.ReadUInt64LittleEndian(descriptor);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(descriptor[8..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[12..]);
            ushort next = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[14..]);
            if ((flags & SplitRing.DescriptorIndirect) != 0)
            {
                if (!indirectAllowed || inIndirect || (flags & SplitRing.DescriptorNext) != 0 || length == 0 || length % 16 != 0 || length / 16 > 32768 || !InRam(address, length))
                {
                    return null;
                }

                inIndirect = true;
                table = address;
                tableSize = (int)(length / 16);
                visited = 0;
                index = 0;
                continue;
            }

            if (length > 0 && !InRam(address, length))
            {
                return null;
            }

            if ((flags & SplitRing.DescriptorWrite) != 0)
            {
                seenWritable = true;
                writableLength += length;
                if (length > 0)
                {
                    writable.Add((address, length));
                }
            }
            else if (seenWritable)
            {
                return null;
            }
            else
            {
                readableLength += length;
                if (length > 0)
                {
                    readable.Add((address, length));
                }
            }

            total += length;
            if (total > uint.MaxValue)
            {
                return null;
            }

            if ((flags & SplitRing.DescriptorNext) == 0)
            {
                return new ChainModel(writable, readable, (uint)writableLength, (uint)readableLength);
            }

            if (next >= tableSize)
            {
                return null;
            }

            index = next;
        }
    }

    private sealed record ChainModel(List<(ulong Address, ulong Length)> Writable, List<(ulong Address, ulong Length)> Readable, uint WritableLength, uint ReadableLength);

    private sealed record Expected(int Queue, ushort Head, ChainModel Chain, uint ExactLength, long InputStart)
    {
        /// <summary>The exact bytes a received packet must have left in the chain (network), or null.</summary>
        public byte[]? Content { get; init; }
    }

    private sealed class QueueModel(ushort size, ulong table, ulong available, ulong used)
    {
        public ushort Size { get; } = size;

        public ulong Table { get; } = table;

        public ulong Available { get; } = available;

        public ulong Used { get; } = used;

        public ushort AvailableIndex { get; set; }

        public ushort NextAvailable { get; set; }

        public ushort NextUsed { get; set; }
    }

    private sealed class WriteRecorder : IGuestMemoryWriteObserver
    {
        public List<(ulong Address, ulong Length)> Writes { get; } = [];

        public void Clear() => Writes.Clear();

        public void OnHostWrite(ulong address, ulong length) => Writes.Add((address, length));
    }

    private sealed class CountingOutput : IGuestOutput
    {
        public long Count { get; private set; }

        public void Write(ReadOnlySpan<byte> bytes) => Count += bytes.Length;
    }
}
