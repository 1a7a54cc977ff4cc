namespace ActorVmm.Devices.Serial;

/// <summary>
/// A fixed-capacity byte ring of <see cref="Uart16550Registers.FifoDepth"/> bytes: the UART's receive FIFO (capacity 1
/// models the 16450's single RBR) or its transmit FIFO (capacity 1: the single THR).
/// </summary>
internal sealed class UartFifo
{
    private readonly byte[] _items = new byte[Uart16550Registers.FifoDepth];
    private int _head;

    public int Count { get; private set; }

    public bool IsEmpty => Count == 0;

    /// <summary>The oldest bytes that sit contiguously in the ring (all of them unless they wrap).</summary>
    public ReadOnlySpan<byte> FirstRun => _items.AsSpan(_head, Math.Min(Count, _items.Length - _head));

    public bool TryPush(byte value, int capacity)
    {
        if (Count >= capacity)
        {
            return false;
        }

        _items[(_head + Count) % _items.Length] = value;
        Count++;
        return true;
    }

    /// <summary>Replaces the newest byte (16450 mode: a new character overwrites the unread RBR).</summary>
    public void OverwriteNewest(byte value) => _items[(_head + Count - 1) % _items.Length] = value;

    public bool TryPop(out byte value)
    {
        if (Count == 0)
        {
            value = 0;
            return false;
        }

        value = _items[_head];
        _head = (_head + 1) % _items.Length;
        Count--;
        return true;
    }

    /// <summary>Drops the oldest <paramref name="count"/> bytes (they left the transmitter).</summary>
    public void Discard(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count);
        _head = (_head + count) % _items.Length;
        Count -= count;
    }

    public void Clear()
    {
        _head = 0;
        Count = 0;
    }

    /// <summary>The bytes, oldest first.</summary>
    public byte[] ToArray()
    {
        byte[] copy = new byte[Count];
        for (int i = 0; i < Count; i++)
        {
            copy[i] = _items[(_head + i) % _items.Length];
        }

        return copy;
    }

    /// <summary>Replaces the contents with <paramref name="bytes"/> (at most the ring's size), oldest first.</summary>
    public void Load(ReadOnlySpan<byte> bytes)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes.Length, _items.Length);
        bytes.CopyTo(_items);
        _head = 0;
        Count = bytes.Length;
    }
}
