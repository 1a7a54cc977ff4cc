using ActorVmm.Machine.Traps;

namespace ActorVmm.Benchmarks.Traps;

/// <summary>A region in the baselines' own structures.</summary>
internal sealed class BaselineRegion(ulong start, ulong length, TrapHandler handler)
{
    public ulong Start { get; } = start;

    public ulong Last { get; } = start + length - 1;

    public TrapHandler Handler { get; } = handler;

    public int RefCount;
}

/// <summary>
/// Baseline (a), kvmtool's mmio.c after the unification: one global mutex around a sorted structure;
/// lookup takes it, bumps the region's refcount and drops it, calls the handler, then takes the mutex
/// again to drop the refcount (so deregistration can wait for in-flight calls).
/// </summary>
internal sealed class GlobalLockPath : IDispatchPath
{
    private readonly Lock _mutex = new();
    private readonly List<BaselineRegion>[] _buses = [[], []];

    public void Register(TrapBus bus, ulong start, ulong length, TrapHandler handler, out object token)
    {
        var region = new BaselineRegion(start, length, handler);
        lock (_mutex)
        {
            var list = _buses[(int)bus];
            int at = list.FindIndex(r => r.Start > start);
            list.Insert(at < 0 ? list.Count : at, region);
        }

        token = region;
    }

    public void Unregister(TrapBus bus, object token)
    {
        lock (_mutex)
        {
            _buses[(int)bus].Remove((BaselineRegion)token);
        }
    }

    public void Dispatch(int vcpu, TrapBus bus, ulong address, Span<byte> data)
    {
        BaselineRegion? region;
        lock (_mutex)
        {
            region = Find(_buses[(int)bus], address);
            if (region is not null)
            {
                region.RefCount++;
            }
        }

        if (region is null)
        {
            data.Fill(0xFF);
            return;
        }

        region.Handler(new TrapAccess(vcpu, bus, address, address - region.Start, TrapDirection.Read, data));
        lock (_mutex)
        {
            region.RefCount--;
        }
    }

    private static BaselineRegion? Find(List<BaselineRegion> list, ulong address)
    {
        int lo = 0, hi = list.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            var r = list[mid];
            if (address < r.Start)
            {
                hi = mid - 1;
            }
            else if (address > r.Last)
            {
                lo = mid + 1;
            }
            else
            {
                return r;
            }
        }

        return null;
    }
}

/// <summary>
/// Baseline (b), Firecracker / cloud-hypervisor: a reader-writer lock around an ordered map
/// (SortedList standing in for Rust's BTreeMap range query); the read lock is held during the call.
/// </summary>
internal sealed class ReaderWriterLockPath : IDispatchPath, IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly SortedList<ulong, BaselineRegion>[] _buses = [new(), new()];

    public void Register(TrapBus bus, ulong start, ulong length, TrapHandler handler, out object token)
    {
        var region = new BaselineRegion(start, length, handler);
        _lock.EnterWriteLock();
        try
        {
            _buses[(int)bus].Add(start, region);
        }
        finally
        {
            _lock.ExitWriteLock();
        }

        token = region;
    }

    public void Unregister(TrapBus bus, object token)
    {
        _lock.EnterWriteLock();
        try
        {
            _buses[(int)bus].Remove(((BaselineRegion)token).Start);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public void Dispatch(int vcpu, TrapBus bus, ulong address, Span<byte> data)
    {
        _lock.EnterReadLock();
        try
        {
            var map = _buses[(int)bus];
            var keys = map.Keys;
            int lo = 0, hi = keys.Count - 1, found = -1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >> 1;
                if (keys[mid] <= address)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            var region = found >= 0 ? map.Values[found] : null;
            if (region is null || address > region.Last)
            {
                data.Fill(0xFF);
                return;
            }

            region.Handler(new TrapAccess(vcpu, bus, address, address - region.Start, TrapDirection.Read, data));
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public void Dispose() => _lock.Dispose();
}
