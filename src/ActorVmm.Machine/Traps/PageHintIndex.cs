using System.Numerics;
using System.Runtime.CompilerServices;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// Hot-path index of the MMIO bus: a direct-mapped hash of 4 KiB page numbers to a live region
/// version touching the page, for regions up to <see cref="MaxIndexedLength"/> (device register
/// blocks; larger ones are left to the binary search). Updated in place by the writer after each
/// publish, so a churning writer does not hand every vCPU a cold copy. An entry is only a hint: a
/// lookup trusts it when the version is live at its snapshot's epoch and holds the access, and
/// otherwise searches the snapshot (a page shared by two small regions, a hash collision, a gap).
/// </summary>
internal sealed class PageHintIndex
{
    /// <summary>Regions longer than this are left to the binary search (their pages would swell the index).</summary>
    public const ulong MaxIndexedLength = 16 * PageSize;

    private const int PageShift = 12;
    private const ulong PageSize = 1UL << PageShift;

    // Fibonacci hashing: the golden-ratio multiplier spreads runs of consecutive pages evenly.
    private const ulong HashMultiplier = 0x9E37_79B9_7F4A_7C15;

    // Four slots per indexed page keeps collisions (each one a binary search) rare.
    private const int SlotsPerPage = 4;
    private const int MinSlots = 64;

    // Replaced whole (with the shift) when the index grows; a lookup masks its slot number with the
    // length of the array it read, so a shift from the other generation only costs a wrong hint.
    private TrapRegion?[] _entries = new TrapRegion?[MinSlots];
    private int _shift = ShiftFor(MinSlots);
    private int _indexedPages;

    /// <summary>The region version last indexed for <paramref name="address"/>'s page, or null; a hint to validate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TrapRegion? Hint(ulong address)
    {
        var entries = Volatile.Read(ref _entries);
        return entries[(int)(((address >> PageShift) * HashMultiplier) >> _shift) & (entries.Length - 1)];
    }

    /// <summary>
    /// Brings the index in line with a publish: entries of retired versions are cleared (each freed
    /// slot goes to another live region that maps there), newly live versions are indexed, and the
    /// index is rebuilt larger when it would get crowded. Writer only.
    /// </summary>
    public void Update(List<TrapRegion> retired, List<TrapRegion> born, ReadOnlySpan<TrapRegion> live)
    {
        foreach (var region in retired)
        {
            _indexedPages -= Indexed(region) ? PageCount(region) : 0;
        }

        foreach (var region in born)
        {
            _indexedPages += Indexed(region) ? PageCount(region) : 0;
        }

        if (_indexedPages * SlotsPerPage > _entries.Length)
        {
            Rebuild(live);
            return;
        }

        foreach (var region in retired)
        {
            if (Indexed(region))
            {
                Clear(region, live);
            }
        }

        foreach (var region in born)
        {
            if (Indexed(region))
            {
                Fill(_entries, _shift, region);
            }
        }
    }

    private static bool Indexed(TrapRegion region) => region.Length <= MaxIndexedLength;

    private static int PageCount(TrapRegion region) => (int)((region.Last >> PageShift) - (region.Base >> PageShift) + 1);

    private static int ShiftFor(int capacity) => 64 - BitOperations.Log2((uint)capacity);

    private static int SlotOf(ulong page, int shift) => (int)((page * HashMultiplier) >> shift);

    private static void Fill(TrapRegion?[] entries, int shift, TrapRegion region)
    {
        for (ulong page = region.Base >> PageShift; page <= region.Last >> PageShift; page++)
        {
            // A collision overwrites: the region that loses its slot is still found by the search.
            Volatile.Write(ref entries[SlotOf(page, shift)], region);
        }
    }

    private void Clear(TrapRegion region, ReadOnlySpan<TrapRegion> live)
    {
        for (ulong page = region.Base >> PageShift; page <= region.Last >> PageShift; page++)
        {
            int slot = SlotOf(page, _shift);
            if (ReferenceEquals(_entries[slot], region))
            {
                Volatile.Write(ref _entries[slot], OtherFor(slot, live));
            }
        }
    }

    /// <summary>A live region with a page hashing to <paramref name="slot"/>, or null.</summary>
    private TrapRegion? OtherFor(int slot, ReadOnlySpan<TrapRegion> live)
    {
        foreach (var other in live)
        {
            if (!Indexed(other))
            {
                continue;
            }

            for (ulong page = other.Base >> PageShift; page <= other.Last >> PageShift; page++)
            {
                if (SlotOf(page, _shift) == slot)
                {
                    return other;
                }
            }
        }

        return null;
    }

    private void Rebuild(ReadOnlySpan<TrapRegion> live)
    {
        int pages = 0;
        foreach (var region in live)
        {
            pages += Indexed(region) ? PageCount(region) : 0;
        }

        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(MinSlots, pages * SlotsPerPage * 2));
        var entries = new TrapRegion?[capacity];
        int shift = ShiftFor(capacity);
        foreach (var region in live)
        {
            if (Indexed(region))
            {
                Fill(entries, shift, region);
            }
        }

        _indexedPages = pages;
        Volatile.Write(ref _shift, shift);
        Volatile.Write(ref _entries, entries);
    }
}
