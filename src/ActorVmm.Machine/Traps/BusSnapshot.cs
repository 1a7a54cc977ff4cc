using System.Runtime.CompilerServices;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// An immutable view of the regions decoding on one bus at one epoch: parallel sorted arrays searched
/// without locks. A snapshot is never modified after publication, so a lookup sees one consistent
/// table. Decoding regions never overlap, so the region holding an address is unique. The lookup
/// indexes (<see cref="PortIndex"/>, <see cref="PageHintIndex"/>) answer for a snapshot only with
/// region versions live at its <see cref="Epoch"/>, so an index hit and a search agree.
/// </summary>
internal sealed class BusSnapshot
{
    public static readonly BusSnapshot Empty = new([], epoch: 0);

    private readonly ulong[] _starts;
    private readonly ulong[] _lasts;
    private readonly TrapRegion[] _regions;

    /// <param name="decoding">The decoding regions of the bus, in any order; sorted here.</param>
    /// <param name="epoch">The bus's publication count: every region in <paramref name="decoding"/> is live at it.</param>
    public BusSnapshot(TrapRegion[] decoding, long epoch)
    {
        Epoch = epoch;
        _regions = decoding;
        _starts = new ulong[decoding.Length];
        for (int i = 0; i < decoding.Length; i++)
        {
            _starts[i] = decoding[i].Base;
        }

        // Keys and items together: no comparer delegate, no allocation beyond the arrays.
        Array.Sort(_starts, _regions);
        _lasts = new ulong[decoding.Length];
        for (int i = 0; i < decoding.Length; i++)
        {
            _lasts[i] = _regions[i].Last;
        }
    }

    /// <summary>Which publication of its bus this is (0 for the empty table).</summary>
    public long Epoch { get; }

    /// <summary>The decoding regions, sorted by base.</summary>
    public ReadOnlySpan<TrapRegion> Regions => _regions;

    /// <summary>Binary search for the region holding all of [address, address + length). Never locks, allocates or writes.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public TrapRegion? Search(ulong address, int length)
    {
        int at = Floor(address);
        if (at < 0)
        {
            return null;
        }

        // Written without address + length so that accesses near 2^64 cannot wrap.
        ulong last = _lasts[at];
        return (ulong)(length - 1) <= last - address && address <= last ? _regions[at] : null;
    }

    /// <summary>The first address at or after <paramref name="address"/> where a decoding region starts, or null.</summary>
    public ulong? NextStart(ulong address)
    {
        int at = Floor(address);
        if (at >= 0 && _starts[at] == address)
        {
            return address;
        }

        return at + 1 < _starts.Length ? _starts[at + 1] : null;
    }

    /// <summary>Index of the last region whose start is at or below <paramref name="address"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Floor(ulong address)
    {
        ulong[] starts = _starts;
        int n = starts.Length;
        if (n == 0 || starts[0] > address)
        {
            return -1;
        }

        // Branch-light lower bound: the loop body compiles to a conditional move.
        int lo = 0;
        while (n > 1)
        {
            int half = n >> 1;
            lo = starts[lo + half] <= address ? lo + half : lo;
            n -= half;
        }

        return lo;
    }
}
