using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using ActorVmm.Machine.Memory;

namespace ActorVmm.Devices.Virtio.Queues;

/// <summary>
/// One live split virtqueue (virtio 1.2 §2.7) as the device works it: takes descriptor chains from the available
/// ring, puts used elements on the used ring, and suppresses notifications both ways (VIRTQ_USED_F_NO_NOTIFY or
/// avail_event; VIRTQ_AVAIL_F_NO_INTERRUPT or used_event). Every guest-controlled number — the available index,
/// heads, next indices, descriptor addresses and lengths, indirect tables, chain length and order — is checked
/// before use; a violation is a <see cref="VirtqueueException"/> and nothing it protects has been touched. All memory
/// access goes through <see cref="GuestDma"/>. Not thread-safe: the device core calls it under its lock, on the
/// device's slow path. A queue is created when the driver has set DRIVER_OK and enabled it, and retired (never used
/// again) when the device or the queue is reset or the device needs a reset.
/// </summary>
public sealed class Virtqueue
{
    /// <summary>Largest indirect table accepted (the most a chain could need; bounds the walk).</summary>
    public const int MaxIndirectDescriptors = SplitRing.MaxQueueSize;

    private readonly GuestDma _dma;
    private readonly VirtqueueLayout _layout;
    private readonly bool _eventIndex;
    private readonly bool _indirect;
    private readonly int _mask;
    private readonly bool[] _inFlight;
    private readonly List<GuestBuffer> _scratch = [];
    private int _inFlightCount;
    private bool _notificationsEnabled;
    private ushort _signalledUsed;

    internal Virtqueue(int index, VirtqueueLayout layout, GuestDma dma, bool eventIndex, bool indirect, ushort nextAvailable, ushort nextUsed, ReadOnlySpan<ushort> inFlight)
    {
        Index = index;
        _layout = layout;
        _dma = dma;
        _eventIndex = eventIndex;
        _indirect = indirect;
        Size = (int)layout.Size;
        _mask = Size - 1;
        _inFlight = new bool[Size];
        NextAvailable = nextAvailable;
        NextUsed = nextUsed;
        _signalledUsed = nextUsed;
        foreach (ushort head in inFlight)
        {
            _inFlight[head] = true;
            _inFlightCount++;
        }
    }

    /// <summary>The queue's index in its device.</summary>
    public int Index { get; }

    /// <summary>Entries in the rings.</summary>
    public int Size { get; }

    /// <summary>The ring positions the driver set up.</summary>
    public VirtqueueLayout Layout => _layout;

    /// <summary>False once the queue was retired: nothing may touch its rings or the buffers of its chains any more.</summary>
    public bool IsLive { get; private set; } = true;

    /// <summary>The free-running index of the next available entry the device will take (last_avail_idx).</summary>
    public ushort NextAvailable { get; private set; }

    /// <summary>The free-running index of the next used entry the device will write (the used ring's idx).</summary>
    public ushort NextUsed { get; private set; }

    /// <summary>Chains taken and not yet returned.</summary>
    public int InFlightCount => _inFlightCount;

    /// <summary>True when used entries were added since the last interrupt decision.</summary>
    internal bool HasUnsignalledUsed => NextUsed != _signalledUsed;

    /// <summary>
    /// True when the driver has made a chain available that the device has not taken (one read of the available index;
    /// takes nothing and changes no notification setting).
    /// </summary>
    public bool HasAvailable()
    {
        ushort pending = (ushort)(ReadAvailableIndex() - NextAvailable);
        return pending != 0;
    }

    /// <summary>
    /// Takes the next available chain. While it finds work, available-buffer notifications are suppressed; when the ring
    /// is empty it re-enables them and looks once more, so a chain added meanwhile is never missed.
    /// </summary>
    /// <exception cref="VirtqueueException">The available ring or the chain is malformed; <see cref="NextAvailable"/> did not move.</exception>
    public bool TryPop([NotNullWhen(true)] out DescriptorChain? chain)
    {
        ushort pending = (ushort)(ReadAvailableIndex() - NextAvailable);
        if (pending == 0)
        {
            if (_notificationsEnabled)
            {
                chain = null;
                return false;
            }

            // Ask for notifications again, then check the index after the request is visible (§2.7.10).
            EnableNotifications();
            Interlocked.MemoryBarrier();
            pending = (ushort)(ReadAvailableIndex() - NextAvailable);
            if (pending == 0)
            {
                chain = null;
                return false;
            }
        }

        if (pending > Size)
        {
            throw new VirtqueueException(
                VirtqueueFault.AvailableIndexJump,
                $"queue {Index}: available index is {pending} entries past the last one taken ({NextAvailable}), more than the queue size {Size}");
        }

        if (_notificationsEnabled)
        {
            DisableNotifications();
        }

        // The ring entry and its descriptors are read only after the index that published them (acquire).
        Interlocked.MemoryBarrier();
        ushort head = _dma.ReadUInt16(_layout.AvailableRing + (ulong)SplitRing.AvailableRingOffset + ((ulong)(NextAvailable & _mask) * SplitRing.AvailableEntrySize));
        if (head >= Size)
        {
            throw new VirtqueueException(VirtqueueFault.HeadOutOfRange, $"queue {Index}: available entry {NextAvailable} names descriptor {head}, outside the table of {Size}");
        }

        if (_inFlight[head])
        {
            throw new VirtqueueException(VirtqueueFault.HeadInFlight, $"queue {Index}: descriptor {head} was made available again while the device still holds it");
        }

        chain = ReadChain(head);
        _inFlight[head] = true;
        _inFlightCount++;
        NextAvailable++;
        return true;
    }

    /// <summary>Reads and checks the chain headed by <paramref name="head"/> without taking anything (used to resubmit chains held across a restart).</summary>
    /// <exception cref="VirtqueueException">The chain is malformed.</exception>
    public DescriptorChain ReadChain(ushort head)
    {
        if (head >= Size)
        {
            throw new VirtqueueException(VirtqueueFault.HeadOutOfRange, $"queue {Index}: descriptor {head} is outside the table of {Size}");
        }

        _scratch.Clear();
        Span<byte> descriptor = stackalloc byte[SplitRing.DescriptorSize];
        ulong table = _layout.DescriptorTable;
        int tableSize = Size;
        int walked = 0;
        bool inIndirect = false;
        bool seenWritable = false;
        int firstWritable = 0;
        ulong readable = 0;
        ulong writable = 0;
        ushort index = head;
        while (true)
        {
            if (++walked > tableSize)
            {
                throw new VirtqueueException(VirtqueueFault.ChainTooLong, $"queue {Index}: chain from {head} is longer than its table of {tableSize} (a loop?)");
            }

            _dma.Read(table + ((ulong)index * SplitRing.DescriptorSize), descriptor);
            ulong address = BinaryPrimitives.ReadUInt64LittleEndian(descriptor[SplitRing.DescriptorAddressOffset..]);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(descriptor[SplitRing.DescriptorLengthOffset..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[SplitRing.DescriptorFlagsOffset..]);
            ushort next = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[SplitRing.DescriptorNextOffset..]);

            if ((flags & SplitRing.DescriptorIndirect) != 0)
            {
                (table, tableSize) = EnterIndirect(head, inIndirect, address, length, flags);
                inIndirect = true;
                walked = 0;
                index = 0;
                continue;
            }

            if (length != 0)
            {
                if (address > ulong.MaxValue - length || !_dma.IsRam(address, length))
                {
                    throw new VirtqueueException(VirtqueueFault.BufferOutsideRam, $"queue {Index}: chain from {head} has a buffer [0x{address:X}, +0x{length:X}) outside guest RAM");
                }
            }

            if ((flags & SplitRing.DescriptorWrite) != 0)
            {
                seenWritable = true;
                writable += length;
            }
            else
            {
                if (seenWritable)
                {
                    throw new VirtqueueException(VirtqueueFault.ReadableAfterWritable, $"queue {Index}: chain from {head} has a device-readable buffer after a device-writable one");
                }

                readable += length;
            }

            if (readable + writable > SplitRing.MaxChainBytes)
            {
                throw new VirtqueueException(VirtqueueFault.ChainTooLarge, $"queue {Index}: chain from {head} holds more than {SplitRing.MaxChainBytes} bytes");
            }

            if (length != 0)
            {
                _scratch.Add(new GuestBuffer(address, length));
                if (!seenWritable)
                {
                    firstWritable = _scratch.Count;
                }
            }

            if ((flags & SplitRing.DescriptorNext) == 0)
            {
                break;
            }

            if (next >= tableSize)
            {
                throw new VirtqueueException(VirtqueueFault.NextOutOfRange, $"queue {Index}: chain from {head} continues at {next}, outside its table of {tableSize}");
            }

            index = next;
        }

        return new DescriptorChain(head, [.. _scratch], firstWritable, (uint)readable, (uint)writable);
    }

    /// <summary>
    /// Returns a chain to the driver with the number of bytes the device wrote into its writable part: the used element
    /// is written, then (after a barrier) the used index. False when the queue was retired (nothing is written).
    /// </summary>
    /// <exception cref="InvalidOperationException">The chain is not held by this queue, or the length exceeds its writable part (a device bug).</exception>
    public bool Complete(DescriptorChain chain, uint bytesWritten)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (!IsLive)
        {
            return false;
        }

        if (chain.Head >= Size || !_inFlight[chain.Head])
        {
            throw new InvalidOperationException($"queue {Index}: chain {chain.Head} is not held by the device");
        }

        if (bytesWritten > chain.WritableLength)
        {
            throw new InvalidOperationException($"queue {Index}: used length {bytesWritten} exceeds the {chain.WritableLength} writable bytes of chain {chain.Head}");
        }

        Span<byte> element = stackalloc byte[SplitRing.UsedElementSize];
        BinaryPrimitives.WriteUInt32LittleEndian(element, chain.Head);
        BinaryPrimitives.WriteUInt32LittleEndian(element[sizeof(uint)..], bytesWritten);
        _dma.Write(_layout.UsedRing + (ulong)SplitRing.UsedRingOffset + ((ulong)(NextUsed & _mask) * SplitRing.UsedElementSize), element);

        // The element (and the buffer contents before it) must be visible before the index that publishes it.
        Interlocked.MemoryBarrier();
        _dma.WriteUInt16(_layout.UsedRing + SplitRing.UsedIndexOffset, (ushort)(NextUsed + 1));
        NextUsed++;
        _inFlight[chain.Head] = false;
        _inFlightCount--;
        return true;
    }

    /// <summary>The heads of the chains taken and not yet returned, in index order.</summary>
    public ushort[] InFlightHeads()
    {
        var heads = new ushort[_inFlightCount];
        int n = 0;
        for (int head = 0; head < Size && n < heads.Length; head++)
        {
            if (_inFlight[head])
            {
                heads[n++] = (ushort)head;
            }
        }

        return heads;
    }

    /// <summary>Publishes the device's wish for available-buffer notifications (done when the queue goes live).</summary>
    internal void Start() => EnableNotifications();

    /// <summary>Stops the queue for good: later calls touch no guest memory.</summary>
    internal void Retire() => IsLive = false;

    /// <summary>
    /// Decides whether the used entries added since the last decision warrant a used-buffer notification: with
    /// VIRTIO_F_EVENT_IDX, whether the used index passed used_event; otherwise whether VIRTQ_AVAIL_F_NO_INTERRUPT is clear.
    /// </summary>
    internal bool DecideInterrupt()
    {
        ushort previous = _signalledUsed;
        _signalledUsed = NextUsed;
        if (previous == NextUsed)
        {
            return false;
        }

        // The used index must be visible before the driver's suppression field is read (§2.7.10).
        Interlocked.MemoryBarrier();
        if (_eventIndex)
        {
            ushort usedEvent = _dma.ReadUInt16(_layout.AvailableRing + (ulong)SplitRing.UsedEventOffset(Size));
            return SplitRing.NeedsEvent(usedEvent, NextUsed, previous);
        }

        return (_dma.ReadUInt16(_layout.AvailableRing + SplitRing.AvailableFlagsOffset) & SplitRing.AvailableNoInterrupt) == 0;
    }

    private (ulong Table, int Size) EnterIndirect(ushort head, bool inIndirect, ulong address, uint length, ushort flags)
    {
        if (!_indirect)
        {
            throw new VirtqueueException(VirtqueueFault.IndirectNotNegotiated, $"queue {Index}: chain from {head} uses an indirect table, but VIRTIO_F_INDIRECT_DESC was not negotiated");
        }

        if (inIndirect)
        {
            throw new VirtqueueException(VirtqueueFault.NestedIndirect, $"queue {Index}: chain from {head} has an indirect descriptor inside an indirect table");
        }

        if ((flags & SplitRing.DescriptorNext) != 0)
        {
            throw new VirtqueueException(VirtqueueFault.IndirectWithNext, $"queue {Index}: chain from {head} has an indirect descriptor with VIRTQ_DESC_F_NEXT");
        }

        if (length == 0 || length % SplitRing.DescriptorSize != 0 || length / SplitRing.DescriptorSize > MaxIndirectDescriptors)
        {
            throw new VirtqueueException(VirtqueueFault.IndirectTableSize, $"queue {Index}: chain from {head} has an indirect table of {length} bytes");
        }

        if (address > ulong.MaxValue - length || !_dma.IsRam(address, length))
        {
            throw new VirtqueueException(VirtqueueFault.BufferOutsideRam, $"queue {Index}: chain from {head} has an indirect table [0x{address:X}, +0x{length:X}) outside guest RAM");
        }

        return (address, (int)(length / SplitRing.DescriptorSize));
    }

    private ushort ReadAvailableIndex() => _dma.ReadUInt16(_layout.AvailableRing + SplitRing.AvailableIndexOffset);

    private void EnableNotifications()
    {
        _notificationsEnabled = true;
        if (_eventIndex)
        {
            // "Notify me once you make entry NextAvailable available."
            _dma.WriteUInt16(_layout.UsedRing + (ulong)SplitRing.AvailableEventOffset(Size), NextAvailable);
        }
        else
        {
            _dma.WriteUInt16(_layout.UsedRing + SplitRing.UsedFlagsOffset, 0);
        }
    }

    private void DisableNotifications()
    {
        _notificationsEnabled = false;
        if (!_eventIndex)
        {
            _dma.WriteUInt16(_layout.UsedRing + SplitRing.UsedFlagsOffset, SplitRing.UsedNoNotify);
        }

        // With EVENT_IDX, leaving avail_event behind the index the driver has passed already suppresses notifications.
    }
}
