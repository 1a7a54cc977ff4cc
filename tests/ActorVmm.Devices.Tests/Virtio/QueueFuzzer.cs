using System.Buffers.Binary;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.Devices.Virtio.Console;
using ActorVmm.Devices.Virtio.Mmio;
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
}

/// <summary>
/// Drives one virtio-mmio device with random descriptor tables and available rings, cheaply generated from a seed,
/// and checks every step against an independent reading of the split-ring rules (<see cref="Walk"/>): the device never
/// throws, sets DEVICE_NEEDS_RESET exactly when a chain it reached is malformed, returns every well-formed chain it
/// reached in order with a used length within the chain's writable part (exactly the bytes a device writes), and writes
/// guest memory only in the used rings and the writable buffers of those chains (seen through the memory's write
/// observer). Memory layout (64 KiB of RAM): rings below 0x2000, indirect tables in [0x2000, 0x4000), buffers in
/// [0x4000, 0x10000). Buffers never overlap tables, so what a device writes cannot change a chain it has still to read.
/// </summary>
internal sealed class QueueFuzzer : IDisposable
{
    private const ulong Ram = 0x1_0000;
    private const ulong TableRegion = 0x2000;
    private const ulong BufferRegion = 0x4000;
    private const int MaxTables = 64;
    private const int MaxIndirect = 8;

    private static readonly (ulong Table, ulong Available, ulong Used)[] QueueAreas = [(0x0000, 0x0400, 0x0800), (0x1000, 0x1400, 0x1800)];

    private readonly FuzzedDevice _kind;
    private readonly Random _random;
    private readonly VirtioTestMachine _machine;
    private readonly WriteRecorder _writes = new();
    private readonly CountingOutput _output = new();
    private readonly QueueModel[] _queues;
    private readonly List<(ulong Address, ulong Length)> _allowed = [];
    private readonly List<Expected> _expected = [];
    private ulong _nextTable;
    private bool _running;
    private bool _indirect;
    private long _inputAdded;
    private long _inputDelivered;

    public QueueFuzzer(FuzzedDevice kind, ulong seed)
    {
        _kind = kind;
        _random = new Random((int)(seed ^ (seed >> 32)));
        _machine = new VirtioTestMachine(Ram, context => kind switch
        {
            FuzzedDevice.Entropy => new VirtioRng(span => span.Fill(0x5A)),
            FuzzedDevice.Block => new VirtioBlock(new ManualBlockBackend(64 * VirtioBlockProtocol.SectorSize) { AutoComplete = true }, "fuzz"),
            _ => new VirtioConsole(context.Input, context.Output),
        }, _output);
        _machine.Memory.WriteObserver = _writes;
        _queues = new QueueModel[kind == FuzzedDevice.Console ? 2 : 1];
    }

    /// <summary>Chains returned by the device, over the whole run.</summary>
    public long ChainsUsed { get; private set; }

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
        WriteTable(queue.Table, queue.Size);
        Publish(queue);

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

        _writes.Clear();
        _allowed.Clear();
        _expected.Clear();
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
        bool malformed = (inputAdded && Simulate(VirtioConsole.ReceiveQueue, ref remaining, ref transmitted))
            || Simulate(q, ref remaining, ref transmitted);

        Check(malformed, transmitted, outputBefore);
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
                FuzzedDevice.Console => 0,
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

            queue.NextAvailable++;
        }
    }

    private void Check(bool malformed, long transmitted, long outputBefore)
    {
        var core = _machine.Device.Core;
        bool needsReset = (core.Status & VirtioStatus.DeviceNeedsReset) != 0;
        Assert.True(malformed == needsReset, $"device needs reset: {needsReset}, model found a malformed ring or chain: {malformed}");
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
            var returned = _expected.Where(e => e.Queue == q).ToList();
            ushort usedIndex = BinaryPrimitives.ReadUInt16LittleEndian(ram[(int)(queue.Used + SplitRing.UsedIndexOffset)..]);
            Assert.Equal((ushort)(queue.NextUsed + returned.Count), usedIndex);
            foreach (var expected in returned)
            {
                int element = (int)(queue.Used + SplitRing.UsedRingOffset + ((ulong)(queue.NextUsed % queue.Size) * SplitRing.UsedElementSize));
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(ram[element..]);
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(ram[(element + 4)..]);
                Assert.Equal(expected.Head, id);
                Assert.True(length <= expected.Chain.WritableLength, $"used length {length} beyond the {expected.Chain.WritableLength} writable bytes");
                if (expected.ExactLength != uint.MaxValue)
                {
                    Assert.Equal(expected.ExactLength, length);
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
            Assert.True(
                _allowed.Any(a => address >= a.Address && address - a.Address + length <= a.Length),
                $"the device wrote [0x{address:X}, +0x{length:X}), outside the used rings and the writable buffers it was given");
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
        var received = _expected.Where(e => e.InputStart >= 0).ToList();
        var ranges = received.SelectMany(e => e.Chain.Writable).OrderBy(r => r.Address).ToList();
        bool disjoint = ranges.Zip(ranges.Skip(1)).All(p => p.First.Address + p.First.Length <= p.Second.Address);
        foreach (var expected in received)
        {
            long position = expected.InputStart;
            uint left = expected.ExactLength;
            foreach (var (address, length) in expected.Chain.Writable)
            {
                for (uint i = 0; i < length && left > 0 && disjoint; i++, left--)
                {
                    Assert.Equal(InputByte(position++), ram[(int)(address + i)]);
                }
            }

            _inputDelivered += expected.ExactLength;
        }
    }

    private static byte InputByte(long position) => (byte)((position * 31) + 7);

    private void Publish(QueueModel queue)
    {
        var ram = RamSpan;
        int pending = (ushort)(queue.AvailableIndex - queue.NextAvailable);
        int room = queue.Size - pending;
        if (_random.Next(64) == 0)
        {
            // A driver bug: the index jumps past what the ring can hold.
            queue.AvailableIndex += (ushort)(queue.Size + 1 + _random.Next(1000));
        }
        else if (room > 0)
        {
            int count = 1 + _random.Next(room);
            for (int i = 0; i < count; i++)
            {
                ushort head = _random.Next(32) == 0 ? (ushort)_random.Next(ushort.MaxValue + 1) : (ushort)_random.Next(queue.Size);
                BinaryPrimitives.WriteUInt16LittleEndian(ram[(int)(queue.Available + 4 + (2UL * (ulong)((queue.AvailableIndex + i) % queue.Size)))..], head);
            }

            queue.AvailableIndex += (ushort)count;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(ram[(int)queue.Available..], (ushort)_random.Next(4));
        BinaryPrimitives.WriteUInt16LittleEndian(ram[(int)(queue.Available + 4 + (2UL * queue.Size))..], (ushort)_random.Next(ushort.MaxValue + 1));
        BinaryPrimitives.WriteUInt16LittleEndian(ram[(int)(queue.Available + SplitRing.AvailableIndexOffset)..], queue.AvailableIndex);
    }

    private void WriteTable(ulong table, int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (_random.Next(10) == 0 && _nextTable < TableRegion + (MaxTables * MaxIndirect * SplitRing.DescriptorSize))
            {
                WriteIndirect(table, i);
            }
            else
            {
                WriteRandomDescriptor(table, i, count);
            }
        }
    }

    private void WriteIndirect(ulong table, int index)
    {
        int entries = 1 + _random.Next(MaxIndirect);
        ulong address = _nextTable;
        _nextTable += (ulong)(MaxIndirect * SplitRing.DescriptorSize);
        WriteTable(address, entries, nested: true);
        uint length = (uint)(entries * SplitRing.DescriptorSize);
        ushort flags = SplitRing.DescriptorIndirect;
        switch (_random.Next(16))
        {
            case 0:
                length = (uint)_random.Next(300);
                break;
            case 1:
                flags |= SplitRing.DescriptorNext;
                break;
            case 2:
                address = Ram - (ulong)_random.Next(64);
                break;
            default:
                break;
        }

        WriteDescriptor(table, index, address, length, (ushort)(flags | (_random.Next(2) == 0 ? SplitRing.DescriptorWrite : 0)), (ushort)_random.Next(4));
    }

    private void WriteTable(ulong table, int count, bool nested)
    {
        for (int i = 0; i < count; i++)
        {
            if (nested && _random.Next(40) == 0)
            {
                // An indirect descriptor inside an indirect table.
                WriteDescriptor(table, i, TableRegion, SplitRing.DescriptorSize, SplitRing.DescriptorIndirect, 0);
            }
            else
            {
                WriteRandomDescriptor(table, i, count);
            }
        }
    }

    private void WriteRandomDescriptor(ulong table, int index, int count)
    {
        ulong address = BufferRegion + (ulong)_random.Next((int)(Ram - BufferRegion));
        uint length = (uint)_random.Next(600);
        switch (_random.Next(40))
        {
            case 0:
                address = Ram - (ulong)_random.Next(32);
                break;
            case 1:
                address = ulong.MaxValue - (ulong)_random.Next(64);
                break;
            case 2:
                length = (uint)_random.NextInt64(uint.MaxValue + 1L);
                break;
            default:
                break;
        }

        ushort flags = (ushort)((_random.Next(2) == 0 ? SplitRing.DescriptorNext : 0) | (_random.Next(2) == 0 ? SplitRing.DescriptorWrite : 0));
        ushort next = _random.Next(16) == 0 ? (ushort)_random.Next(ushort.MaxValue + 1) : (ushort)_random.Next(count);
        WriteDescriptor(table, index, address, length, flags, next);

        // Block requests need a plausible header now and then, or every request would be an unknown type.
        if (_kind == FuzzedDevice.Block && (flags & SplitRing.DescriptorWrite) == 0 && length >= VirtioBlockProtocol.HeaderBytes
            && address + VirtioBlockProtocol.HeaderBytes <= Ram && _random.Next(3) == 0)
        {
            uint[] types = [VirtioBlockProtocol.RequestIn, VirtioBlockProtocol.RequestOut, VirtioBlockProtocol.RequestFlush, VirtioBlockProtocol.RequestGetId];
            var header = RamSpan.Slice((int)address, VirtioBlockProtocol.HeaderBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(header, types[_random.Next(types.Length)]);
            BinaryPrimitives.WriteUInt64LittleEndian(header[VirtioBlockProtocol.HeaderSectorOffset..], (ulong)_random.Next(72));
        }
    }

    private void WriteDescriptor(ulong table, int index, ulong address, uint length, ushort flags, ushort next)
    {
        var descriptor = RamSpan.Slice((int)(table + ((ulong)index * SplitRing.DescriptorSize)), SplitRing.DescriptorSize);
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
            }

            total += length;
            if (total > uint.MaxValue)
            {
                return null;
            }

            if ((flags & SplitRing.DescriptorNext) == 0)
            {
                return new ChainModel(writable, (uint)writableLength, (uint)readableLength);
            }

            if (next >= tableSize)
            {
                return null;
            }

            index = next;
        }
    }

    private sealed record ChainModel(List<(ulong Address, ulong Length)> Writable, uint WritableLength, uint ReadableLength);

    private sealed record Expected(int Queue, ushort Head, ChainModel Chain, uint ExactLength, long InputStart);

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
