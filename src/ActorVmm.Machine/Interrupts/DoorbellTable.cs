using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// The registered doorbells of one VM: refuses colliding registrations (KVM's ioeventfd rule, on
/// both backends) and, for the in-process backend, matches a guest write against them. Lookups read
/// an immutable per-bus snapshot published with one reference store, like the trap table; writers
/// serialize on a lock.
/// </summary>
public sealed class DoorbellTable : IDoorbells
{
    private readonly Lock _writeLock = new();
    private DoorbellEntry[] _pio = [];
    private DoorbellEntry[] _mmio = [];
    private long _failedCallbacks;

    /// <summary>Number of registered doorbells.</summary>
    public int Count => Volatile.Read(ref _pio).Length + Volatile.Read(ref _mmio).Length;

    /// <summary>Callbacks that threw (the exception is swallowed: a device bug must not end a vCPU or the poller).</summary>
    public long FailedCallbacks => Interlocked.Read(ref _failedCallbacks);

    /// <summary>Adds a doorbell; dispose the entry (or call <see cref="Remove"/>) to take it out.</summary>
    /// <exception cref="ArgumentException">The doorbell is malformed.</exception>
    /// <exception cref="InvalidOperationException">A registered doorbell already claims the same writes.</exception>
    public DoorbellEntry Add(Doorbell doorbell, Action callback)
    {
        ArgumentNullException.ThrowIfNull(doorbell);
        ArgumentNullException.ThrowIfNull(callback);
        doorbell.Validate();
        lock (_writeLock)
        {
            ref DoorbellEntry[] bus = ref Bus(doorbell.Bus);
            if (bus.FirstOrDefault(e => e.Doorbell.CollidesWith(doorbell)) is { } existing)
            {
                throw new InvalidOperationException($"Doorbell {doorbell} collides with the registered doorbell {existing.Doorbell}");
            }

            var entry = new DoorbellEntry(this, doorbell, callback);
            DoorbellEntry[] next = [.. bus, entry];
            Array.Sort(next, static (a, b) => a.Doorbell.Address.CompareTo(b.Doorbell.Address));
            Volatile.Write(ref bus, next);
            return entry;
        }
    }

    /// <inheritdoc />
    public IDisposable Register(Doorbell doorbell, Action callback) => Add(doorbell, callback);

    /// <summary>Removes a doorbell; once this returns its callback does not start again. False when it was not registered.</summary>
    public bool Remove(DoorbellEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        bool removed;
        lock (_writeLock)
        {
            ref DoorbellEntry[] bus = ref Bus(entry.Doorbell.Bus);
            removed = Array.IndexOf(bus, entry) >= 0;
            if (removed)
            {
                Volatile.Write(ref bus, [.. bus.Where(e => e != entry)]);
            }
        }

        entry.Close();
        return removed;
    }

    /// <summary>
    /// Hot path (vCPU thread): when a registered doorbell claims this write, runs its callback and
    /// returns true (the write is consumed); otherwise false and the write goes on to the trap table.
    /// </summary>
    public bool TryRing(TrapBus bus, ulong address, int length, ulong value)
    {
        var entries = bus == TrapBus.Pio ? Volatile.Read(ref _pio) : Volatile.Read(ref _mmio);
        if (entries.Length == 0)
        {
            return false;
        }

        // First entry at the address (binary search), then every entry sharing it (different data matches).
        int lo = 0;
        int hi = entries.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (entries[mid].Doorbell.Address < address)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        for (int i = lo; i < entries.Length && entries[i].Doorbell.Address == address; i++)
        {
            if (entries[i].Doorbell.Matches(address, length, value))
            {
                entries[i].Ring();
                return true;
            }
        }

        return false;
    }

    internal void CountFailure() => Interlocked.Increment(ref _failedCallbacks);

    private ref DoorbellEntry[] Bus(TrapBus bus)
    {
        if (bus == TrapBus.Pio)
        {
            return ref _pio;
        }

        return ref _mmio;
    }
}

/// <summary>A registered doorbell and its callback. Dispose removes it from its table.</summary>
public sealed class DoorbellEntry : IDisposable
{
    private readonly DoorbellTable _table;
    private readonly Action _callback;
    private readonly Lock _gate = new();
    private bool _closed;
    private long _rings;

    internal DoorbellEntry(DoorbellTable table, Doorbell doorbell, Action callback)
    {
        _table = table;
        Doorbell = doorbell;
        _callback = callback;
    }

    /// <summary>What the doorbell matches.</summary>
    public Doorbell Doorbell { get; }

    /// <summary>Callbacks run so far.</summary>
    public long Rings => Interlocked.Read(ref _rings);

    /// <summary>
    /// Runs the callback unless the entry was removed. Called by the backend that saw the ring (a vCPU
    /// thread in process, the eventfd poller on KVM). An exception from the callback is counted, not thrown.
    /// </summary>
    public void Ring()
    {
        // The gate makes removal wait for a callback in progress, so none starts after Remove returns.
        // Lock is reentrant: a callback may remove its own doorbell.
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            Interlocked.Increment(ref _rings);
            try
            {
                _callback();
            }
            catch (Exception)
            {
                _table.CountFailure();
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _table.Remove(this);

    internal void Close()
    {
        lock (_gate)
        {
            _closed = true;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Doorbell.ToString();
}
