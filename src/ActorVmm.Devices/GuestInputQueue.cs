namespace ActorVmm.Devices;

/// <summary>
/// Host bytes waiting for the guest to take them into a device (a UART's receive path). It lives in the device's
/// setup, outside the instance that can fail, so input survives restarts and is delivered exactly once, in order.
/// It is bounded: <see cref="Add"/> takes only what fits, and whoever feeds it (the device actor, for a host pump
/// that waits for each chunk to be accepted) keeps the rest until the guest has read enough, so an endless host
/// source (<c>cat /dev/zero</c>) cannot grow host memory. Thread-safe; one short lock.
/// </summary>
public sealed class GuestInputQueue
{
    /// <summary>Bytes held by default: many screens of typing, small beside the guest.</summary>
    public const int DefaultCapacity = 4096;

    private readonly int _capacity;
    private readonly Lock _lock = new();

    // Allocated on the first byte: every device has a queue, few ever receive input.
    private byte[]? _ring;
    private int _head;
    private int _count;

    /// <summary>Creates an empty queue of <paramref name="capacity"/> bytes.</summary>
    public GuestInputQueue(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>The most bytes the queue holds.</summary>
    public int Capacity => _capacity;

    /// <summary>True when no byte waits.</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>Bytes waiting.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>How many more bytes <see cref="Add"/> would take now.</summary>
    public int Space
    {
        get
        {
            lock (_lock)
            {
                return _capacity - _count;
            }
        }
    }

    /// <summary>The next byte without taking it (for a "data ready" status bit).</summary>
    public bool TryPeek(out byte value)
    {
        lock (_lock)
        {
            value = _count == 0 ? (byte)0 : _ring![_head];
            return _count != 0;
        }
    }

    /// <summary>Takes the next byte: call it only when the device actually takes it.</summary>
    public bool TryTake(out byte value)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                value = 0;
                return false;
            }

            value = _ring![_head];
            _head = (_head + 1) % _capacity;
            _count--;
            return true;
        }
    }

    /// <summary>Appends as many host bytes as fit, in order, and returns how many; the caller keeps the rest.</summary>
    public int Add(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            int taken = Math.Min(bytes.Length, _capacity - _count);
            if (taken == 0)
            {
                return 0;
            }

            _ring ??= new byte[_capacity];
            int tail = (_head + _count) % _capacity;
            int firstLength = Math.Min(taken, _capacity - tail);
            bytes[..firstLength].CopyTo(_ring.AsSpan(tail));
            bytes[firstLength..taken].CopyTo(_ring);
            _count += taken;
            return taken;
        }
    }
}
