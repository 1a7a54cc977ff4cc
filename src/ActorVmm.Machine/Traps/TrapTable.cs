using System.Runtime.CompilerServices;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// The unified range table for port I/O and MMIO, read side. Lookups read an immutable snapshot per
/// bus, published with a single reference swap, so they never lock, allocate or write shared memory.
/// Changes go through the one <see cref="TrapTableWriter"/> that <see cref="ClaimWriter"/> hands out
/// (the VM's supervisor) and the <see cref="RegionControl"/>s it grants; they serialize on a write-side
/// lock that is never held while a trap handler runs, so a handler may move, enable or disable regions
/// (PCI BAR reprogramming) from inside a trap without deadlock.
/// </summary>
public sealed partial class TrapTable
{
    /// <summary>Highest port number on the PIO bus.</summary>
    public const ulong MaxPort = 0xFFFF;

    private readonly ITrapRegionListener? _listener;
    private readonly PortIndex _ports = new();
    private readonly PageHintIndex _pages = new();
    private BusSnapshot _pio = BusSnapshot.Empty;
    private BusSnapshot _mmio = BusSnapshot.Empty;
    private int _writerClaimed;

    /// <summary>Creates an empty table whose counters serve vCPU ids 0..<paramref name="maxVcpus"/>-1.</summary>
    public TrapTable(int maxVcpus = 64)
        : this(maxVcpus, listener: null)
    {
    }

    /// <summary>Creates an empty table that tells <paramref name="listener"/> about registrations and decode changes (a backend's own).</summary>
    internal TrapTable(int maxVcpus, ITrapRegionListener? listener)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxVcpus, 1);
        MaxVcpus = maxVcpus;
        _listener = listener;
    }

    /// <summary>The number of vCPU ids the per-vCPU counters serve.</summary>
    public int MaxVcpus { get; }

    /// <summary>
    /// Hands out the table's only write capability. The VM's supervisor claims it; a test that drives a
    /// VM's table directly claims it in the supervisor's place.
    /// </summary>
    /// <exception cref="InvalidOperationException">The writer was already claimed.</exception>
    public TrapTableWriter ClaimWriter() =>
        Interlocked.Exchange(ref _writerClaimed, 1) == 0
            ? new TrapTableWriter(this)
            : throw new InvalidOperationException("This trap table's writer was already claimed: a table has exactly one writer (the VM's supervisor)");

    /// <summary>
    /// Finds the decoding region that holds the whole access; one that straddles a region's end finds
    /// nothing. Hot path: one volatile read of the snapshot reference, one index probe (the direct port
    /// index, or the MMIO page hash) validated against the snapshot's epoch; a binary search of the
    /// snapshot when the probe does not settle it. Never locks, allocates or writes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TrapRegion? Lookup(TrapBus bus, ulong address, int length)
    {
        BusSnapshot snapshot;
        TrapRegion? hint;
        if (bus == TrapBus.Pio)
        {
            snapshot = Volatile.Read(ref _pio);
            hint = _ports.Hint(address);
        }
        else
        {
            snapshot = Volatile.Read(ref _mmio);
            hint = _pages.Hint(address);
        }

        return hint is not null && hint.IsLiveIn(snapshot.Epoch) && hint.Holds(address, length) ? hint : snapshot.Search(address, length);
    }

    /// <summary>Every registered region of a bus (decoding, shadowed or disabled), sorted by base then handle.</summary>
    public IReadOnlyList<TrapRegion> Regions(TrapBus bus)
    {
        lock (_writeLock)
        {
            var regions = _byBus[(int)bus].Select(c => c.Current).ToArray();
            Array.Sort(regions, static (a, b) => a.Base != b.Base ? a.Base.CompareTo(b.Base) : a.Handle.Id.CompareTo(b.Handle.Id));
            return regions;
        }
    }

    /// <summary>The current version of a region, or null when it is not registered.</summary>
    public TrapRegion? Find(RegionHandle handle)
    {
        lock (_writeLock)
        {
            return _byHandle.GetValueOrDefault(handle.Id)?.Current;
        }
    }

    /// <summary>What the hot-path index holds for an address (a hint, validated by lookups); for tests of the index upkeep.</summary>
    internal TrapRegion? IndexedAt(TrapBus bus, ulong address) => bus == TrapBus.Pio ? _ports.Hint(address) : _pages.Hint(address);

    /// <summary>The published snapshot of a bus (what lookups read now).</summary>
    internal BusSnapshot Snapshot(TrapBus bus) => bus == TrapBus.Pio ? Volatile.Read(ref _pio) : Volatile.Read(ref _mmio);
}
