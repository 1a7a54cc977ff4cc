namespace ActorVmm.Devices.I8042;

/// <summary>A bounded FIFO of bytes produced by a PS/2 device or the controller; overflow drops the new byte.</summary>
internal sealed class Ps2ByteQueue(int capacity)
{
    private readonly Queue<byte> _items = new(capacity);

    public int Count => _items.Count;

    public long Dropped { get; private set; }

    public void Enqueue(byte value)
    {
        if (_items.Count >= capacity)
        {
            Dropped++;
            return;
        }

        _items.Enqueue(value);
    }

    public bool TryDequeue(out byte value) => _items.TryDequeue(out value);

    public void Clear() => _items.Clear();

    public StateArray<byte> CaptureState() => [.. _items];

    /// <summary>Replaces the contents with <paramref name="items"/> (already validated to fit).</summary>
    public void LoadState(StateArray<byte> items)
    {
        _items.Clear();
        foreach (byte item in items)
        {
            _items.Enqueue(item);
        }
    }
}
