using System.Numerics;
using System.Runtime.CompilerServices;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// The MMIO bus: besides the sorted arrays, a hash of 4 KiB page numbers to a decoding region that
/// touches the page, built at publish for regions up to <see cref="MaxIndexedLength"/> (device register
/// blocks). The hash entry is a hint: when its region holds the access the lookup is done in one probe;
/// otherwise (a large region, a page shared by several small ones, a gap) it falls back to the binary search.
/// </summary>
internal sealed class MmioSnapshot : BusSnapshot
{
    public static readonly MmioSnapshot Empty = new([]);

    /// <summary>Regions longer than this are left to the binary search (their pages would swell the hash).</summary>
    public const ulong MaxIndexedLength = 16 * PageSize;

    private const int PageShift = 12;
    private const ulong PageSize = 1UL << PageShift;

    // Page numbers are below 2^52, so this never collides with a real key.
    private const ulong EmptyKey = ulong.MaxValue;

    // Fibonacci hashing: the golden-ratio multiplier spreads runs of consecutive pages evenly.
    private const ulong HashMultiplier = 0x9E37_79B9_7F4A_7C15;

    private readonly ulong[] _keys;
    private readonly TrapRegion[] _hints;
    private readonly int _shift;
    private readonly int _mask;

    public MmioSnapshot(TrapRegion[] decoding)
        : base(decoding)
    {
        int pages = 0;
        foreach (var region in Regions)
        {
            pages += region.Length <= MaxIndexedLength ? (int)((region.Last >> PageShift) - (region.Base >> PageShift) + 1) : 0;
        }

        // At most half full, so that most lookups end at the first probe.
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(8, pages * 2));
        _keys = new ulong[capacity];
        Array.Fill(_keys, EmptyKey);
        _hints = new TrapRegion[capacity];
        _mask = capacity - 1;
        _shift = 64 - BitOperations.Log2((uint)capacity);
        foreach (var region in Regions)
        {
            if (region.Length > MaxIndexedLength)
            {
                continue;
            }

            for (ulong page = region.Base >> PageShift; page <= region.Last >> PageShift; page++)
            {
                int slot = Slot(page);
                while (_keys[slot] != EmptyKey && _keys[slot] != page)
                {
                    slot = (slot + 1) & _mask;
                }

                // A page shared by two small regions keeps the first as its hint; the other is searched.
                if (_keys[slot] == EmptyKey)
                {
                    _keys[slot] = page;
                    _hints[slot] = region;
                }
            }
        }
    }

    /// <summary>Finds the region holding all of [address, address + length). Never locks, allocates or writes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TrapRegion? Find(ulong address, int length)
    {
        ulong page = address >> PageShift;
        ulong[] keys = _keys;
        int slot = Slot(page);
        while (true)
        {
            ulong key = keys[slot];
            if (key == page)
            {
                // Unsigned offset: an address below the base wraps to a huge offset and fails the first test.
                var hint = _hints[slot];
                ulong offset = address - hint.Base;
                if (offset < hint.Length && (ulong)(length - 1) <= hint.Length - 1 - offset)
                {
                    return hint;
                }

                break;
            }

            if (key == EmptyKey)
            {
                break;
            }

            slot = (slot + 1) & _mask;
        }

        return Search(address, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(ulong page) => (int)((page * HashMultiplier) >> _shift);
}
