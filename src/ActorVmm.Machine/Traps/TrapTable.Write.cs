namespace ActorVmm.Machine.Traps;

/// <summary>
/// The write side, reached only through <see cref="TrapTableWriter"/> and <see cref="RegionControl"/>.
/// Decode rules (as on PCI): a region decodes when it is enabled, validly placed and does not overlap a
/// region that was decoding there first. A decoding region keeps decoding until it is itself moved,
/// disabled or removed; when one stops decoding, the shadowed regions it blocked are reconsidered in
/// the order they were placed, each decoding again if it now overlaps nothing that decodes.
/// So an address never decodes to two regions, and nothing a guest writes can evict a fixed region.
/// </summary>
public sealed partial class TrapTable
{
    private readonly Lock _writeLock = new();
    private readonly Dictionary<long, RegionControl> _byHandle = [];
    private readonly List<RegionControl>[] _byBus = [[], []];

    // Decoding versions replaced during the current write operation; the operation's publish retires them.
    private readonly List<TrapRegion> _retiring = [];
    private readonly List<TrapRegion> _born = [];

    // Decode starts and stops of the current write operation, told to the listener once it is published.
    private readonly List<(TrapRegion Region, bool Started)> _decodeChanges = [];
    private long _nextId;
    private long _clock;

    internal RegionHandle Register(TrapBus bus, ulong baseAddress, ulong length, TrapHandler handler, TrapFlags flags, string? name, bool enabled)
    {
        lock (_writeLock)
        {
            var handle = new RegionHandle(++_nextId);
            string label = name ?? handle.ToString();
            ValidatePlacement(bus, baseAddress, length, label);
            ulong last = baseAddress + length - 1;
            if (enabled && FindDecodingOverlap(bus, baseAddress, last, ignore: null) is { } other)
            {
                throw new TrapRegistrationException($"Region {TrapRegion.Describe(label, bus, baseAddress, last)} overlaps {other}");
            }

            var region = new TrapRegion(handle, label, bus, baseAddress, length, flags, new RegionBinding(handler), new RegionCounters(MaxVcpus), enabled, decoding: enabled, placedAt: enabled ? ++_clock : 0);
            _listener?.OnRegistering(region);
            var control = new RegionControl(this, region);
            _byHandle.Add(handle.Id, control);
            _byBus[(int)bus].Add(control);
            if (enabled)
            {
                _decodeChanges.Add((region, true));
            }

            Commit(bus, publish: enabled);
            return handle;
        }
    }

    internal bool Unregister(RegionHandle handle)
    {
        lock (_writeLock)
        {
            if (!_byHandle.Remove(handle.Id, out var control))
            {
                return false;
            }

            var region = control.Current;
            _byBus[(int)region.Bus].Remove(control);
            control.MarkUnregistered();
            if (region.IsDecoding)
            {
                SetCurrent(control, region.WithDecoding(false));
                PromoteShadowed(region.Bus);
            }

            Commit(region.Bus, publish: region.IsDecoding);
            return true;
        }
    }

    internal void MoveChecked(RegionHandle handle, ulong newBase)
    {
        lock (_writeLock)
        {
            var control = Get(handle);
            var region = control.Current;
            ValidatePlacement(region.Bus, newBase, region.Length, region.Name);
            ulong last = newBase + region.Length - 1;
            if (region.IsEnabled && FindDecodingOverlap(region.Bus, newBase, last, ignore: control) is { } other)
            {
                throw new TrapRegistrationException($"Region {TrapRegion.Describe(region.Name, region.Bus, newBase, last)} overlaps {other}");
            }

            PlaceLocked(control, newBase, region.IsEnabled);
        }
    }

    /// <summary>A region's placement capability: one per region, created at registration.</summary>
    internal RegionControl Control(RegionHandle handle)
    {
        lock (_writeLock)
        {
            return Get(handle);
        }
    }

    /// <summary>PCI placement: never throws; null keeps the current base or enable state (read under the lock).</summary>
    internal void Place(RegionControl control, ulong? newBase, bool? enabled)
    {
        lock (_writeLock)
        {
            if (!control.IsRegistered)
            {
                return;
            }

            var region = control.Current;
            PlaceLocked(control, newBase ?? region.Base, enabled ?? region.IsEnabled);
        }
    }

    internal void Repoint(RegionHandle handle, TrapHandler handler)
    {
        lock (_writeLock)
        {
            var control = Get(handle);
            var region = control.Current;

            // A fresh binding starts unquarantined; the failed handler's binding stays quarantined for
            // any vCPU still holding an older snapshot.
            SetCurrent(control, region.WithBinding(new RegionBinding(handler)));
            Commit(region.Bus, publish: region.IsDecoding);
        }
    }

    /// <summary>Sets or lifts the quarantine of a region's current handler: one volatile store, nothing published.</summary>
    internal bool SetQuarantine(RegionHandle handle, bool quarantined)
    {
        lock (_writeLock)
        {
            if (!_byHandle.TryGetValue(handle.Id, out var control))
            {
                return false;
            }

            if (quarantined)
            {
                control.Current.Binding.Quarantine();
            }
            else
            {
                control.Current.Binding.Release();
            }

            return true;
        }
    }

    private void PlaceLocked(RegionControl control, ulong newBase, bool enabled)
    {
        var region = control.Current;
        if (region.Base == newBase && region.IsEnabled == enabled)
        {
            return;
        }

        var bus = region.Bus;
        bool wasDecoding = region.IsDecoding;

        // A fresh placement competes for its range from now on: whatever decodes there already wins.
        long placedAt = enabled ? ++_clock : region.PlacedAt;
        var placed = region.With(newBase, enabled, decoding: false, placedAt);
        bool decodes = enabled && placed.HasValidPlacement && FindDecodingOverlap(bus, placed.Base, placed.Last, ignore: control) is null;
        SetCurrent(control, decodes ? placed.WithDecoding(true) : placed);
        if (wasDecoding)
        {
            PromoteShadowed(bus);
        }

        Commit(bus, publish: wasDecoding || decodes);
    }

    /// <summary>Shadowed regions whose conflict is gone start decoding, the earliest placed first.</summary>
    private void PromoteShadowed(TrapBus bus)
    {
        List<RegionControl>? waiting = null;
        foreach (var control in _byBus[(int)bus])
        {
            var region = control.Current;
            if (region.IsEnabled && !region.IsDecoding && region.HasValidPlacement)
            {
                (waiting ??= []).Add(control);
            }
        }

        if (waiting is null)
        {
            return;
        }

        waiting.Sort(static (a, b) => a.Current.PlacedAt.CompareTo(b.Current.PlacedAt));
        foreach (var control in waiting)
        {
            var region = control.Current;
            if (FindDecodingOverlap(bus, region.Base, region.Last, ignore: control) is null)
            {
                SetCurrent(control, region.WithDecoding(true));
            }
        }
    }

    /// <summary>
    /// Installs a region's next version, queues the previous one for retirement when it was decoding
    /// (the caller then publishes), and tells the listener when the decoding placement changed.
    /// </summary>
    private void SetCurrent(RegionControl control, TrapRegion next)
    {
        var previous = control.Current;
        control.Current = next;
        if (previous.IsDecoding)
        {
            _retiring.Add(previous);
        }

        bool samePlacement = previous.Base == next.Base;
        if (previous.IsDecoding && !(next.IsDecoding && samePlacement))
        {
            _decodeChanges.Add((previous, false));
        }

        if (next.IsDecoding && !(previous.IsDecoding && samePlacement))
        {
            _decodeChanges.Add((next, true));
        }
    }

    /// <summary>
    /// Ends a write operation: publishes the bus when its decoding set changed, then tells the listener
    /// about the decode changes, so a listener that throws never leaves the table half-changed.
    /// </summary>
    private void Commit(TrapBus bus, bool publish)
    {
        if (publish)
        {
            Publish(bus);
        }

        if (_listener is null)
        {
            _decodeChanges.Clear();
            return;
        }

        var changes = _decodeChanges.ToArray();
        _decodeChanges.Clear();
        foreach (var (region, started) in changes)
        {
            if (started)
            {
                _listener.OnDecodeStarted(region);
            }
            else
            {
                _listener.OnDecodeStopped(region);
            }
        }
    }

    private TrapRegion? FindDecodingOverlap(TrapBus bus, ulong first, ulong last, RegionControl? ignore)
    {
        foreach (var control in _byBus[(int)bus])
        {
            var region = control.Current;
            if (region.IsDecoding && !ReferenceEquals(control, ignore) && region.Overlaps(first, last))
            {
                return region;
            }
        }

        return null;
    }

    private RegionControl Get(RegionHandle handle) =>
        _byHandle.TryGetValue(handle.Id, out var control)
            ? control
            : throw new KeyNotFoundException($"{handle} is not registered");

    private static void ValidatePlacement(TrapBus bus, ulong baseAddress, ulong length, string name)
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
    }

    /// <summary>
    /// Publishes the bus's next snapshot, then brings the lookup index up to date. Order matters to a
    /// vCPU that reads the old snapshot while this runs: retired versions stay live for the old epoch,
    /// new ones only become live at the new epoch, and the index is updated last, so an index entry and
    /// a search of the snapshot a lookup read always agree.
    /// </summary>
    private void Publish(TrapBus bus)
    {
        var published = bus == TrapBus.Pio ? _pio : _mmio;
        long epoch = published.Epoch + 1;

        // No LINQ here: a guest that reprograms BARs in a loop makes this the allocation hot spot.
        var controls = _byBus[(int)bus];
        int count = 0;
        foreach (var control in controls)
        {
            count += control.Current.IsDecoding ? 1 : 0;
        }

        var decoding = new TrapRegion[count];
        int i = 0;
        foreach (var control in controls)
        {
            var region = control.Current;
            if (region.IsDecoding)
            {
                decoding[i++] = region;
                if (region.LiveFrom == long.MaxValue)
                {
                    Volatile.Write(ref region.LiveFrom, epoch);
                }
            }
        }

        foreach (var retired in _retiring)
        {
            Volatile.Write(ref retired.LiveUntil, epoch);
        }

        var snapshot = new BusSnapshot(decoding, epoch);
        if (bus == TrapBus.Pio)
        {
            Volatile.Write(ref _pio, snapshot);
        }
        else
        {
            Volatile.Write(ref _mmio, snapshot);
        }

        // Versions that were published and now leave, and versions published for the first time.
        _retiring.RemoveAll(static r => r.LiveFrom == long.MaxValue);
        _born.Clear();
        foreach (var region in snapshot.Regions)
        {
            if (region.LiveFrom == epoch)
            {
                _born.Add(region);
            }
        }

        if (bus == TrapBus.Pio)
        {
            _ports.Update(_retiring, _born);
        }
        else
        {
            _pages.Update(_retiring, _born, snapshot.Regions);
        }

        _retiring.Clear();
    }
}
