namespace ActorVmm.Devices;

/// <summary>
/// A VM console's output in flight: a bounded byte ring that devices append to on vCPU threads without allocating,
/// and one consumer (the console sink) drains in bulk. The first byte appended to an idle buffer raises the drain
/// signal once (and once more when they pass half the capacity); the sink clears it when it starts a drain, so a burst
/// costs one or two signals however many bytes it has.
/// When the ring is full, <see cref="TryWrite"/> takes only what fits and remembers the waiter, which is told once
/// the sink has made room: the UART keeps the rest in its transmitter and reads as busy meanwhile, so a stalled
/// host terminal holds the guest back instead of growing host memory. The buffer outlives sink restarts: a byte
/// leaves it only when the sink has written it.
/// </summary>
/// <remarks>
/// Producers (several UARTs, on several vCPU threads) and the consumer's index updates share one short lock; the
/// consumer writes straight from the ring's memory outside it, because only the consumer moves the head.
/// </remarks>
public sealed class GuestOutputBuffer : IGuestOutput
{
    /// <summary>Bytes held per VM console by default: enough for bulk writes, small enough for a thousand VMs.</summary>
    public const int DefaultCapacity = 16 * 1024;

    private readonly int _capacity;
    private readonly Lock _lock = new();

    // Allocated on the first byte: a VM whose guest never prints costs no ring.
    private byte[]? _ring;

    // Waiters to tell once the sink makes room; swapped with _notifying so telling them allocates nothing.
    private List<IGuestOutputWaiter> _waiters = new(4);
    private List<IGuestOutputWaiter> _notifying = new(4);
    private Action? _drainSignal;
    private long _head;
    private long _tail;
    private long _dropped;
    private bool _drainPending;

    /// <summary>Creates an empty buffer of <paramref name="capacity"/> bytes.</summary>
    public GuestOutputBuffer(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>The most bytes the buffer holds.</summary>
    public int Capacity => _capacity;

    /// <summary>Bytes accepted since creation.</summary>
    public long Accepted
    {
        get
        {
            lock (_lock)
            {
                return _tail;
            }
        }
    }

    /// <summary>Bytes the sink has taken out (written) since creation.</summary>
    public long Consumed
    {
        get
        {
            lock (_lock)
            {
                return _head;
            }
        }
    }

    /// <summary>Bytes refused by <see cref="Write"/> because the buffer was full (a caller that could not wait).</summary>
    public long Dropped
    {
        get
        {
            lock (_lock)
            {
                return _dropped;
            }
        }
    }

    /// <summary>True when half the capacity or more waits: the fill at which the buffer signals again and a sink writes at once.</summary>
    public bool PastHalf => PendingCount >= HalfCapacity;

    private int HalfCapacity => _capacity / 2;

    /// <summary>Bytes waiting for the sink.</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return (int)(_tail - _head);
            }
        }
    }

    /// <summary>
    /// Sets what is called (outside the lock, on the appending thread) when bytes arrive in a buffer whose sink has no
    /// drain pending; the sink sets it on every (re)start. If bytes already wait, it is called at once.
    /// </summary>
    public void SetDrainSignal(Action signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        bool signalNow;
        lock (_lock)
        {
            _drainSignal = signal;
            signalNow = _tail != _head;
            _drainPending = signalNow;
        }

        if (signalNow)
        {
            signal();
        }
    }

    /// <inheritdoc />
    public void Write(ReadOnlySpan<byte> bytes)
    {
        int taken = Append(bytes, waiter: null);
        if (taken < bytes.Length)
        {
            lock (_lock)
            {
                _dropped += bytes.Length - taken;
            }
        }
    }

    /// <inheritdoc />
    public int TryWrite(ReadOnlySpan<byte> bytes, IGuestOutputWaiter waiter)
    {
        ArgumentNullException.ThrowIfNull(waiter);
        return Append(bytes, waiter);
    }

    /// <summary>
    /// The consumer starts a drain: appends from now on raise the signal again. Call it before <see cref="Peek"/>, so
    /// that a byte appended after the peek is never left without a signal.
    /// </summary>
    public void BeginDrain()
    {
        lock (_lock)
        {
            _drainPending = false;
        }
    }

    /// <summary>
    /// The bytes waiting now, oldest first, as at most two runs of the ring (the second non-empty when they wrap).
    /// They stay valid and unchanged until <see cref="Consume"/>: only the consumer frees ring space.
    /// </summary>
    public int Peek(out ReadOnlyMemory<byte> first, out ReadOnlyMemory<byte> second)
    {
        long head;
        int count;
        byte[]? ring;
        lock (_lock)
        {
            head = _head;
            count = (int)(_tail - _head);
            ring = _ring;
        }

        if (ring is null)
        {
            (first, second) = (ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty);
            return 0;
        }

        int start = (int)(head % _capacity);
        int firstLength = Math.Min(count, _capacity - start);
        first = new ReadOnlyMemory<byte>(ring, start, firstLength);
        second = new ReadOnlyMemory<byte>(ring, 0, count - firstLength);
        return count;
    }

    /// <summary>The consumer has written the oldest <paramref name="count"/> bytes: frees their room and tells the waiters.</summary>
    public void Consume(int count)
    {
        List<IGuestOutputWaiter> notify;
        lock (_lock)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _tail - _head);
            _head += count;
            if (count == 0 || _waiters.Count == 0)
            {
                return;
            }

            (notify, _waiters, _notifying) = (_waiters, _notifying, _waiters);
        }

        // Outside the lock: a waiter posts to its device, whose slow path will append again.
        foreach (var waiter in notify)
        {
            waiter.OnOutputSpaceAvailable();
        }

        notify.Clear();
    }

    private int Append(ReadOnlySpan<byte> bytes, IGuestOutputWaiter? waiter)
    {
        if (bytes.IsEmpty)
        {
            return 0;
        }

        int taken;
        Action? signal = null;
        lock (_lock)
        {
            taken = Math.Min(bytes.Length, _capacity - (int)(_tail - _head));
            _ring ??= new byte[_capacity];
            int start = (int)(_tail % _capacity);
            int firstLength = Math.Min(taken, _capacity - start);
            bytes[..firstLength].CopyTo(_ring.AsSpan(start));
            bytes[firstLength..taken].CopyTo(_ring);
            _tail += taken;
            if (taken < bytes.Length && waiter is not null && !_waiters.Contains(waiter))
            {
                _waiters.Add(waiter);
            }

            // Signalled on the first byte into an idle buffer, and once more when these bytes fill it past half, so a sink
            // that waits to batch small writes still starts at once on a burst.
            bool crossedHalf = _tail - taken - _head < HalfCapacity && _tail - _head >= HalfCapacity;
            if (taken > 0 && (!_drainPending || crossedHalf) && _drainSignal is not null)
            {
                _drainPending = true;
                signal = _drainSignal;
            }
        }

        signal?.Invoke();
        return taken;
    }
}
