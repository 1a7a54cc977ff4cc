using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Traps;

/// <summary>
/// One thread reprograms a BAR (moves it, enables and disables decoding, sometimes onto a fixed region
/// that shadows it) as a vCPU writing config space would, while another hammers the addresses around it.
/// Placements are stamped with a shared epoch before and after each change, dispatches before and after
/// each call. Short in CI; set ACTORVMM_STRESS_SECONDS for a longer run.
/// </summary>
public sealed class BarMoveStressTests
{
    private const ulong BarSize = 0x100;
    private const int Slots = 16;
    private const ulong Window = Slots * BarSize;
    private const int FixedSlot = 5;
    private const ulong FixedBase = FixedSlot * BarSize;
    private const int AccessSize = 4;
    private const int MoverVcpu = 0;
    private const int HammerVcpu = 1;

    [Fact]
    public void Accesses_reach_the_bar_only_inside_a_placement_that_decoded_during_the_call_and_always_once_it_is_published()
    {
        var duration = TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("ACTORVMM_STRESS_SECONDS"), out var s) ? s : 2);
        var table = new TrapTable(maxVcpus: 2);
        var writer = table.ClaimWriter();
        var dispatcher = new TrapDispatcher(table);
        long epoch = 0;
        (string Region, ulong Base) seen = default;
        writer.Register(TrapBus.Mmio, FixedBase, BarSize, access => seen = ("fixed", access.Address - access.Offset), name: "fixed");
        var bar = writer.Control(writer.Register(TrapBus.Mmio, 0, BarSize, access => seen = ("bar", access.Address - access.Offset), name: "bar"));
        var placements = new List<Placement> { new(0, Decoding: true, StartedAt: 0, PublishedBy: 0) };
        var hits = new List<Hit>();
        var wrongDecode = new List<string>();
        using var stop = new CancellationTokenSource(duration);

        var mover = new Thread(() =>
        {
            var random = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                ulong newBase = (ulong)random.Next(Slots) * BarSize;
                bool enabled = random.Next(5) != 0;
                long startedAt = Interlocked.Increment(ref epoch);
                bar.Place(newBase, enabled);
                long publishedBy = Interlocked.Increment(ref epoch);
                bool expected = enabled && newBase != FixedBase;
                if (bar.IsDecoding != expected)
                {
                    wrongDecode.Add($"bar at 0x{newBase:X} enabled={enabled} decoding={bar.IsDecoding}");
                }

                placements.Add(new Placement(newBase, bar.IsDecoding, startedAt, publishedBy));
            }
        });
        var hammer = new Thread(() =>
        {
            var random = new Random(11);
            byte[] data = new byte[AccessSize];
            while (!stop.IsCancellationRequested)
            {
                ulong address = (ulong)random.Next((int)(Window / AccessSize)) * AccessSize;
                seen = (string.Empty, 0);
                long before = Volatile.Read(ref epoch);
                var outcome = dispatcher.Dispatch(HammerVcpu, TrapBus.Mmio, address, TrapDirection.Read, data);
                long after = Volatile.Read(ref epoch);
                hits.Add(new Hit(address, outcome, seen.Region, seen.Base, before, after));
            }
        });

        mover.Start();
        hammer.Start();
        mover.Join();
        hammer.Join();

        Assert.Empty(wrongDecode);
        Assert.True(placements.Count > 100 && hits.Count > 1000, $"only {placements.Count} placements and {hits.Count} dispatches: the race was not exercised");
        var fixedMissed = hits.Where(h => h.Address - (h.Address % BarSize) == FixedBase && (h.Region != "fixed" || h.Base != FixedBase)).Take(5).ToList();
        Assert.True(fixedMissed.Count == 0, "the fixed region lost accesses to the BAR: " + string.Join("; ", fixedMissed));
        var stray = hits.Where(h => h.Region == "bar" && !PossiblyDecodedDuring(placements, h)).Take(5).ToList();
        Assert.True(stray.Count == 0, "the BAR got accesses outside every placement that decoded during the call: " + string.Join("; ", stray));
        var lost = hits.Where(h => CertainPlacement(placements, h) is { } p && !AgreesWith(p, h)).Take(5).ToList();
        Assert.True(lost.Count == 0, "accesses after a placement was published disagreed with it: " + string.Join("; ", lost));
        Assert.Contains(hits, h => h.Region == "bar" && h.Base != 0);
    }

    /// <summary>A dispatch during which one placement was certainly published reaches the BAR exactly when that placement decodes the address.</summary>
    private static bool AgreesWith(Placement placement, Hit hit)
    {
        bool expected = placement.Decoding && Holds(placement.Base, hit.Address);
        bool reached = hit.Region == "bar";
        return expected == reached && (!reached || (hit.Base == placement.Base && hit.Outcome == DispatchOutcome.Handled));
    }

    private static bool Holds(ulong baseAddress, ulong address) => address >= baseAddress && address + AccessSize <= baseAddress + BarSize;

    /// <summary>Placement i may be visible from its start until the next placement is published.</summary>
    private static bool PossiblyDecodedDuring(List<Placement> placements, Hit hit)
    {
        for (int i = LastStartedBy(placements, hit.After); i >= 0; i--)
        {
            long visibleUntil = i + 1 < placements.Count ? placements[i + 1].PublishedBy : long.MaxValue;
            if (visibleUntil < hit.Before)
            {
                return false;
            }

            var p = placements[i];
            if (p.Decoding && p.Base == hit.Base && Holds(p.Base, hit.Address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The placement certainly published for the whole call: published before it began, the next not started before it ended.</summary>
    private static Placement? CertainPlacement(List<Placement> placements, Hit hit)
    {
        int i = LastStartedBy(placements, hit.Before);
        if (i < 0 || placements[i].PublishedBy > hit.Before)
        {
            return null;
        }

        return i + 1 < placements.Count && placements[i + 1].StartedAt <= hit.After ? null : placements[i];
    }

    private static int LastStartedBy(List<Placement> placements, long epoch)
    {
        int lo = 0, hi = placements.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (placements[mid].StartedAt <= epoch)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found;
    }

    private sealed record Placement(ulong Base, bool Decoding, long StartedAt, long PublishedBy);

    private sealed record Hit(ulong Address, DispatchOutcome Outcome, string Region, ulong Base, long Before, long After);
}
