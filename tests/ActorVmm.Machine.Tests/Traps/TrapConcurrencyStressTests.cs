using System.Collections.Concurrent;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Traps;

/// <summary>
/// Dispatching threads race a thread that churns register/move/unregister. Every dispatch must land
/// in a handler whose region held the address at some instant during the call. Short in CI;
/// set ACTORVMM_STRESS_SECONDS for a longer run.
/// </summary>
public sealed class TrapConcurrencyStressTests
{
    private const int Dispatchers = 2;
    private const int ChurnRegions = 24;
    private const ulong Window = 0x4000;
    private const ulong RegionSize = 0x100;

    [Fact]
    public void Dispatches_racing_churn_land_only_in_regions_that_held_the_address()
    {
        var duration = TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("ACTORVMM_STRESS_SECONDS"), out var s) ? s : 2);
        var table = new TrapTable(maxVcpus: Dispatchers);
        var writer = table.ClaimWriter();
        var dispatcher = new TrapDispatcher(table);
        long epoch = 0;
        var placements = new ConcurrentBag<Placement>();
        var wrongOffset = 0;
        var lastHit = new (int Region, ulong Address)[Dispatchers];
        var handlers = new TrapHandler[ChurnRegions];
        for (int id = 0; id < ChurnRegions; id++)
        {
            int regionId = id;
            handlers[id] = access =>
            {
                if (access.Offset + (ulong)access.Length > RegionSize)
                {
                    Interlocked.Increment(ref wrongOffset);
                }

                lastHit[access.VcpuId] = (regionId, access.Address);
            };
        }

        using var stop = new CancellationTokenSource(duration);
        var records = new List<Hit>[Dispatchers];
        var threads = new List<Thread>();
        Exception? escaped = null;
        for (int v = 0; v < Dispatchers; v++)
        {
            int vcpu = v;
            records[v] = [];
            threads.Add(new Thread(() =>
            {
                var random = new Random(vcpu);
                byte[] data = new byte[4];
                try
                {
                    while (!stop.IsCancellationRequested)
                    {
                        ulong address = (ulong)random.NextInt64((long)(Window - 4));
                        lastHit[vcpu] = (-1, 0);
                        long before = Volatile.Read(ref epoch);
                        var outcome = dispatcher.Dispatch(vcpu, TrapBus.Mmio, address, TrapDirection.Read, data);
                        long after = Volatile.Read(ref epoch);
                        if (outcome == DispatchOutcome.Handled)
                        {
                            records[vcpu].Add(new Hit(lastHit[vcpu].Region, lastHit[vcpu].Address, address, before, after));
                        }
                    }
                }
                catch (Exception ex)
                {
                    escaped = ex;
                }
            }));
        }

        var churn = new Thread(() =>
        {
            var random = new Random(42);
            var live = new (RegionHandle Handle, ulong Base, long Since)?[ChurnRegions];
            while (!stop.IsCancellationRequested)
            {
                int id = random.Next(ChurnRegions);
                ulong newBase = (ulong)random.NextInt64((long)((Window / RegionSize) - 1)) * RegionSize;
                var current = live[id];
                long opEpoch = Interlocked.Increment(ref epoch);
                try
                {
                    if (current is null)
                    {
                        var handle = writer.Register(TrapBus.Mmio, newBase, RegionSize, handlers[id]);
                        live[id] = (handle, newBase, opEpoch);
                    }
                    else if (random.Next(2) == 0)
                    {
                        writer.Move(current.Value.Handle, newBase);
                        placements.Add(new Placement(id, current.Value.Base, current.Value.Since, Interlocked.Increment(ref epoch)));
                        live[id] = (current.Value.Handle, newBase, opEpoch);
                    }
                    else
                    {
                        writer.Unregister(current.Value.Handle);
                        placements.Add(new Placement(id, current.Value.Base, current.Value.Since, Interlocked.Increment(ref epoch)));
                        live[id] = null;
                    }
                }
                catch (TrapRegistrationException)
                {
                    // Overlap with another decoding region: rejected, nothing changed.
                }
            }

            foreach (var (id, entry) in live.Select((e, i) => (i, e)))
            {
                if (entry is not null)
                {
                    placements.Add(new Placement(id, entry.Value.Base, entry.Value.Since, long.MaxValue));
                }
            }
        });

        threads.Add(churn);
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Null(escaped);
        Assert.Equal(0, wrongOffset);
        // A region's placements follow one another in time, so sorted by From their Until grows too:
        // scan back from the last placement that began before the call ended, stop once one ended before it began.
        var byRegion = placements.GroupBy(p => p.Region).ToDictionary(g => g.Key, g => g.OrderBy(p => p.From).ToArray());
        var hits = records.SelectMany(r => r).ToList();
        Assert.True(hits.Count > 1000, $"only {hits.Count} handled dispatches: the race was not exercised");
        var impossible = hits.Where(h => h.SeenAddress != h.Address || !HeldDuringCall(byRegion.GetValueOrDefault(h.Region, []), h)).Take(5).ToList();
        Assert.True(impossible.Count == 0, "dispatches landed in regions that never held the address: " + string.Join("; ", impossible));
    }

    private static bool HeldDuringCall(Placement[] history, Hit hit)
    {
        // Binary search: the last placement that began no later than the call ended.
        int lo = 0, hi = history.Length - 1, last = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (history[mid].From <= hit.After)
            {
                last = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        for (int i = last; i >= 0 && history[i].Until >= hit.Before; i--)
        {
            var p = history[i];
            if (hit.Address >= p.Base && hit.Address + 4 <= p.Base + RegionSize)
            {
                return true;
            }
        }

        return false;
    }

    private sealed record Placement(int Region, ulong Base, long From, long Until);

    private sealed record Hit(int Region, ulong SeenAddress, ulong Address, long Before, long After);
}
