using System.Buffers.Binary;
using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.Machine.Memory;

namespace ActorVmm.TestSupport.Virtio;

/// <summary>One buffer a test driver puts in a chain.</summary>
public readonly record struct DriverBuffer(ulong Address, uint Length, bool DeviceWritable)
{
    /// <summary>A device-readable buffer.</summary>
    public static DriverBuffer Readable(ulong address, uint length) => new(address, length, false);

    /// <summary>A device-writable buffer.</summary>
    public static DriverBuffer Writable(ulong address, uint length) => new(address, length, true);
}

/// <summary>An element the device put on the used ring.</summary>
public readonly record struct UsedElement(uint Id, uint Length);

/// <summary>
/// The driver's side of a split virtqueue in real guest memory, as Linux's virtio_ring lays it out: descriptors from a
/// free list, chains made available in order, used elements taken back (freeing their descriptors), and the
/// suppression fields (available flags, used_event) a driver sets. Tests and benchmarks use it to speak to a device.
/// </summary>
public sealed class DriverQueue
{
    private readonly GuestDma _dma;
    private readonly Stack<ushort> _free = new();
    private readonly Dictionary<ushort, ushort[]> _chains = [];
    private ushort _availableIndex;
    private ushort _lastUsed;

    /// <summary>A queue of <paramref name="size"/> entries whose parts are at the given addresses (not checked: tests place them anywhere).</summary>
    public DriverQueue(GuestDma dma, ushort size, ulong descriptorTable, ulong availableRing, ulong usedRing)
    {
        _dma = dma ?? throw new ArgumentNullException(nameof(dma));
        Size = size;
        DescriptorTable = descriptorTable;
        AvailableRing = availableRing;
        UsedRing = usedRing;
        for (int i = size - 1; i >= 0; i--)
        {
            _free.Push((ushort)i);
        }

        // A driver zeroes the rings before handing them over.
        _dma.Write(descriptorTable, new byte[SplitRing.DescriptorTableBytes(size)]);
        _dma.Write(availableRing, new byte[SplitRing.AvailableRingBytes(size)]);
        _dma.Write(usedRing, new byte[SplitRing.UsedRingBytes(size)]);
    }

    /// <summary>Entries in the rings.</summary>
    public ushort Size { get; }

    /// <summary>Descriptor table address.</summary>
    public ulong DescriptorTable { get; }

    /// <summary>Available ring address.</summary>
    public ulong AvailableRing { get; }

    /// <summary>Used ring address.</summary>
    public ulong UsedRing { get; }

    /// <summary>Descriptors not in any chain.</summary>
    public int FreeDescriptors => _free.Count;

    /// <summary>The available index the driver has published.</summary>
    public ushort AvailableIndex => _availableIndex;

    /// <summary>The used index as the device last wrote it.</summary>
    public ushort UsedIndex => _dma.ReadUInt16(UsedRing + SplitRing.UsedIndexOffset);

    /// <summary>The used ring's flags (VIRTQ_USED_F_NO_NOTIFY).</summary>
    public ushort UsedFlags => _dma.ReadUInt16(UsedRing + SplitRing.UsedFlagsOffset);

    /// <summary>avail_event as the device last wrote it (VIRTIO_F_EVENT_IDX).</summary>
    public ushort AvailableEvent => _dma.ReadUInt16(UsedRing + (ulong)SplitRing.AvailableEventOffset(Size));

    /// <summary>Lays out a queue at aligned addresses from <paramref name="arena"/>.</summary>
    public static DriverQueue Allocate(GuestDma dma, GuestArena arena, ushort size)
    {
        ArgumentNullException.ThrowIfNull(arena);
        ulong table = arena.Allocate(SplitRing.DescriptorTableBytes(size), SplitRing.DescriptorTableAlignment);
        ulong available = arena.Allocate(SplitRing.AvailableRingBytes(size), SplitRing.AvailableRingAlignment);
        ulong used = arena.Allocate(SplitRing.UsedRingBytes(size), SplitRing.UsedRingAlignment);
        return new DriverQueue(dma, size, table, available, used);
    }

    /// <summary>Writes a chain of <paramref name="buffers"/> into free descriptors and returns its head (not yet available).</summary>
    public ushort AddChain(ReadOnlySpan<DriverBuffer> buffers)
    {
        if (buffers.Length == 0 || buffers.Length > _free.Count)
        {
            throw new InvalidOperationException($"A chain of {buffers.Length} descriptors does not fit the {_free.Count} free ones");
        }

        var indices = new ushort[buffers.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = _free.Pop();
        }

        for (int i = 0; i < indices.Length; i++)
        {
            bool last = i == indices.Length - 1;
            ushort flags = (ushort)((buffers[i].DeviceWritable ? SplitRing.DescriptorWrite : 0) | (last ? 0 : SplitRing.DescriptorNext));
            WriteDescriptor(DescriptorTable, indices[i], buffers[i].Address, buffers[i].Length, flags, last ? (ushort)0 : indices[i + 1]);
        }

        _chains[indices[0]] = indices;
        return indices[0];
    }

    /// <summary>Writes <paramref name="buffers"/> as an indirect table at <paramref name="table"/> behind one ring descriptor; returns its head.</summary>
    public ushort AddIndirectChain(ReadOnlySpan<DriverBuffer> buffers, ulong table)
    {
        for (int i = 0; i < buffers.Length; i++)
        {
            bool last = i == buffers.Length - 1;
            ushort flags = (ushort)((buffers[i].DeviceWritable ? SplitRing.DescriptorWrite : 0) | (last ? 0 : SplitRing.DescriptorNext));
            WriteDescriptor(table, (ushort)i, buffers[i].Address, buffers[i].Length, flags, last ? (ushort)0 : (ushort)(i + 1));
        }

        ushort head = _free.Pop();
        WriteDescriptor(DescriptorTable, head, table, (uint)(buffers.Length * SplitRing.DescriptorSize), SplitRing.DescriptorIndirect, 0);
        _chains[head] = [head];
        return head;
    }

    /// <summary>Writes one raw descriptor (for tests that build malformed tables).</summary>
    public void WriteDescriptor(ulong table, ushort index, ulong address, uint length, ushort flags, ushort next)
    {
        Span<byte> descriptor = stackalloc byte[SplitRing.DescriptorSize];
        BinaryPrimitives.WriteUInt64LittleEndian(descriptor[SplitRing.DescriptorAddressOffset..], address);
        BinaryPrimitives.WriteUInt32LittleEndian(descriptor[SplitRing.DescriptorLengthOffset..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[SplitRing.DescriptorFlagsOffset..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[SplitRing.DescriptorNextOffset..], next);
        _dma.Write(table + ((ulong)index * SplitRing.DescriptorSize), descriptor);
    }

    /// <summary>Puts <paramref name="head"/> in the available ring and publishes the new index.</summary>
    public void MakeAvailable(ushort head)
    {
        _dma.WriteUInt16(AvailableRing + (ulong)SplitRing.AvailableRingOffset + ((ulong)(_availableIndex % Size) * SplitRing.AvailableEntrySize), head);
        Interlocked.MemoryBarrier();
        _availableIndex++;
        _dma.WriteUInt16(AvailableRing + SplitRing.AvailableIndexOffset, _availableIndex);
    }

    /// <summary>Publishes an arbitrary available index (for tests of malformed rings).</summary>
    public void PublishAvailableIndex(ushort index)
    {
        _availableIndex = index;
        _dma.WriteUInt16(AvailableRing + SplitRing.AvailableIndexOffset, index);
    }

    /// <summary>Takes the next used element, if the device wrote one, and frees its chain's descriptors.</summary>
    public bool TryTakeUsed(out UsedElement element)
    {
        if (UsedIndex == _lastUsed)
        {
            element = default;
            return false;
        }

        Interlocked.MemoryBarrier();
        ulong address = UsedRing + (ulong)SplitRing.UsedRingOffset + ((ulong)(_lastUsed % Size) * SplitRing.UsedElementSize);
        element = new UsedElement(_dma.ReadUInt32(address), _dma.ReadUInt32(address + sizeof(uint)));
        _lastUsed++;
        if (_chains.Remove((ushort)element.Id, out var indices))
        {
            foreach (ushort index in indices)
            {
                _free.Push(index);
            }
        }

        return true;
    }

    /// <summary>Sets the available ring's flags (VIRTQ_AVAIL_F_NO_INTERRUPT).</summary>
    public void SetAvailableFlags(ushort flags) => _dma.WriteUInt16(AvailableRing + SplitRing.AvailableFlagsOffset, flags);

    /// <summary>Sets used_event (VIRTIO_F_EVENT_IDX).</summary>
    public void SetUsedEvent(ushort index) => _dma.WriteUInt16(AvailableRing + (ulong)SplitRing.UsedEventOffset(Size), index);
}
