using System.Runtime.CompilerServices;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// The unified range table for port I/O and MMIO. Lookups read an immutable snapshot per bus,
/// published with a single reference swap, so they never lock, allocate or write shared memory.
/// Writers are serialized by a lock on the write side only and never hold it while a trap
/// handler runs, so a handler may register, move or unregister regions (PCI BAR reprogramming)
/// from inside a trap without deadlock.
/// </summary>
public sealed class TrapTable
{
    /// <summary>Highest port number on the PIO bus.</summary>
    public const ulong MaxPort = 0xFFFF;

    private readonly Lock _writeLock = new();
    private readonly Dictionary<long, TrapRegion> _byHandle = [];
    private readonly List<ITrapRegionListener> _listeners = [];
    private BusSnapshot _pio = BusSnapshot.Empty;
    private BusSnapshot _mmio = BusSnapshot.Empty;
    private long _nextId;

    /// <summary>Creates an empty table whose counters serve vCPU ids 0..<paramref name="maxVcpus"/>-1.</summary>
    public TrapTable(int maxVcpus = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxVcpus, 1);
        MaxVcpus = maxVcpus;
    }

    /// <summary>The number of vCPU ids the per-vCPU counters serve.</summary>
    public int MaxVcpus { get; }

    /// <summary>Adds a listener told about regions entering and leaving the table.</summary>
    public void AddListener(ITrapRegionListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        lock (_writeLock)
        {
            _listeners.Add(listener);
        }
    }

    /// <summary>Registers a region. Rejects zero length, wrap-around, PIO beyond 0xFFFF and overlaps.</summary>
    /// <exception cref="TrapRegistrationException">The region is invalid or overlaps another; the message names both.</exception>
    public RegionHandle Register(TrapBus bus, ulong baseAddress, ulong length, TrapHandler handler, TrapFlags flags = TrapFlags.None, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_writeLock)
        {
            var handle = new RegionHandle(++_nextId);
            string label = name ?? handle.ToString();
            Validate(bus, baseAddress, length, label, ignore: default);
            var region = new TrapRegion(handle, label, bus, baseAddress, length, flags, handler, quarantined: false, new RegionCounters(MaxVcpus));
            NotifyAdding(region);
            _byHandle.Add(handle.Id, region);
            Publish(bus);
            return handle;
        }
    }

    /// <summary>Removes a region. Lookups already in flight may still call its handler once.</summary>
    /// <returns>False when the handle is not registered (already removed).</returns>
    public bool Unregister(RegionHandle handle)
    {
        lock (_writeLock)
        {
            if (!_byHandle.Remove(handle.Id, out var region))
            {
                return false;
            }

            Publish(region.Bus);
            NotifyRemoved(region);
            return true;
        }
    }

    /// <summary>Moves a region to a new base on the same bus (PCI BAR reprogramming).</summary>
    /// <exception cref="TrapRegistrationException">The new range is invalid or overlaps another region.</exception>
    /// <exception cref="KeyNotFoundException">The handle is not registered.</exception>
    public void Move(RegionHandle handle, ulong newBase)
    {
        lock (_writeLock)
        {
            var region = Get(handle);
            Validate(region.Bus, newBase, region.Length, region.Name, ignore: handle);
            var moved = region.With(baseAddress: newBase);
            NotifyRemoved(region);
            try
            {
                NotifyAdding(moved);
            }
            catch
            {
                NotifyAdding(region);
                throw;
            }

            _byHandle[handle.Id] = moved;
            Publish(region.Bus);
        }
    }

    /// <summary>Points a region at a new handler (a restarted device instance) and lifts its quarantine.</summary>
    public void Repoint(RegionHandle handle, TrapHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Replace(handle, r => r.With(handler: handler, quarantined: false));
    }

    /// <summary>Quarantines a region: until re-pointed or released it answers as an empty bus.</summary>
    /// <returns>False when the handle is not registered.</returns>
    public bool Quarantine(RegionHandle handle) => Replace(handle, r => r.IsQuarantined ? r : r.With(quarantined: true));

    /// <summary>Lifts a quarantine without changing the handler.</summary>
    public bool Release(RegionHandle handle) => Replace(handle, r => r.IsQuarantined ? r.With(quarantined: false) : r);

    /// <summary>The current state of a region, or null when it is not registered.</summary>
    public TrapRegion? Find(RegionHandle handle)
    {
        lock (_writeLock)
        {
            return _byHandle.GetValueOrDefault(handle.Id);
        }
    }

    /// <summary>The regions of a bus, sorted by base, as currently published.</summary>
    public IReadOnlyList<TrapRegion> Regions(TrapBus bus) => Snapshot(bus).Regions.ToArray();

    /// <summary>
    /// Finds the region that holds the whole access. Hot path: one volatile read of the snapshot
    /// reference and a binary search; an access that straddles a region's end finds nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TrapRegion? Lookup(TrapBus bus, ulong address, int length) => Snapshot(bus).Find(address, length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private BusSnapshot Snapshot(TrapBus bus) => bus == TrapBus.Pio ? Volatile.Read(ref _pio) : Volatile.Read(ref _mmio);

    private bool Replace(RegionHandle handle, Func<TrapRegion, TrapRegion> change)
    {
        lock (_writeLock)
        {
            if (!_byHandle.TryGetValue(handle.Id, out var region))
            {
                return false;
            }

            var updated = change(region);
            if (!ReferenceEquals(updated, region))
            {
                _byHandle[handle.Id] = updated;
                Publish(region.Bus);
            }

            return true;
        }
    }

    private TrapRegion Get(RegionHandle handle) =>
        _byHandle.TryGetValue(handle.Id, out var region)
            ? region
            : throw new KeyNotFoundException($"{handle} is not registered");

    private void Validate(TrapBus bus, ulong baseAddress, ulong length, string name, RegionHandle ignore)
    {
        if (length == 0)
        {
            throw new TrapRegistrationException($"Region '{name}' on {bus} at 0x{baseAddress:X} has zero length");
        }

        ulong last = baseAddress + length - 1;
        if (last < baseAddress)
        {
            throw new TrapRegistrationException($"Region '{name}' on {bus} at 0x{baseAddress:X} with length 0x{length:X} wraps past the end of the address space");
        }

        if (bus == TrapBus.Pio && last > MaxPort)
        {
            throw new TrapRegistrationException($"Region {TrapRegion.Describe(name, bus, baseAddress, last)} extends beyond port 0x{MaxPort:X}");
        }

        foreach (var other in _byHandle.Values)
        {
            if (other.Bus == bus && other.Handle != ignore && other.Base <= last && baseAddress <= other.Last)
            {
                throw new TrapRegistrationException($"Region {TrapRegion.Describe(name, bus, baseAddress, last)} overlaps {other}");
            }
        }
    }

    private void Publish(TrapBus bus)
    {
        // No LINQ here: a guest that reprograms BARs in a loop makes this the allocation hot spot.
        int count = 0;
        foreach (var region in _byHandle.Values)
        {
            count += region.Bus == bus ? 1 : 0;
        }

        var regions = new TrapRegion[count];
        int i = 0;
        foreach (var region in _byHandle.Values)
        {
            if (region.Bus == bus)
            {
                regions[i++] = region;
            }
        }

        Array.Sort(regions, static (a, b) => a.Base.CompareTo(b.Base));
        var snapshot = new BusSnapshot(regions);
        if (bus == TrapBus.Pio)
        {
            Volatile.Write(ref _pio, snapshot);
        }
        else
        {
            Volatile.Write(ref _mmio, snapshot);
        }
    }

    private void NotifyAdding(TrapRegion region)
    {
        for (int i = 0; i < _listeners.Count; i++)
        {
            try
            {
                _listeners[i].OnRegionAdding(region);
            }
            catch
            {
                // Undo what the listeners before the one that refused already accepted.
                for (int j = 0; j < i; j++)
                {
                    _listeners[j].OnRegionRemoved(region);
                }

                throw;
            }
        }
    }

    private void NotifyRemoved(TrapRegion region)
    {
        foreach (var listener in _listeners)
        {
            listener.OnRegionRemoved(region);
        }
    }
}
