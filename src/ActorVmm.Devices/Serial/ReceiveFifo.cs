namespace ActorVmm.Devices.Serial;

/// <summary>A fixed-capacity byte ring: the UART's receive FIFO (capacity 1 models the 16450's single RBR).</summary>
internal sealed class ReceiveFifo
{
    private readonly byte[] _items = new byte[Uart16550Registers.FifoDepth];
    private int _head;

    public int Count { get; private set; }

    public bool IsEmpty => Count == 0;

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

    public void Clear()
    {
        _head = 0;
        Count = 0;
    }
}
