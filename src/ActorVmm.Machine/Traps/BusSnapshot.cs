using System.Runtime.CompilerServices;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// An immutable, sorted view of one bus: parallel arrays searched without locks. A snapshot is never
/// modified after publication, so a lookup sees one consistent table.
/// </summary>
internal sealed class BusSnapshot
{
    public static readonly BusSnapshot Empty = new([]);

    private readonly ulong[] _starts;
    private readonly ulong[] _lasts;
    private readonly TrapRegion[] _regions;

    public BusSnapshot(TrapRegion[] sortedRegions)
    {
        _regions = sortedRegions;
        _starts = new ulong[sortedRegions.Length];
        _lasts = new ulong[sortedRegions.Length];
        for (int i = 0; i < sortedRegions.Length; i++)
        {
            _starts[i] = sortedRegions[i].Base;
            _lasts[i] = sortedRegions[i].Last;
        }
    }

    public ReadOnlySpan<TrapRegion> Regions => _regions;

    /// <summary>Finds the region holding all of [address, address + length). Never locks, allocates or writes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TrapRegion? Find(ulong address, int length)
    {
        ulong[] starts = _starts;
        int n = starts.Length;
        if (n == 0)
        {
            return null;
        }

        // Branch-light lower bound: the loop body compiles to a conditional move.
        int lo = 0;
        while (n > 1)
        {
            int half = n >> 1;
            lo = starts[lo + half] <= address ? lo + half : lo;
            n -= half;
        }

        ulong start = starts[lo];
        ulong last = _lasts[lo];

        // Written without address + length so that accesses near 2^64 cannot wrap.
        return address >= start && (ulong)(length - 1) <= last - address && address <= last ? _regions[lo] : null;
    }
}
