using System.Runtime.CompilerServices;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// The port bus: besides the sorted arrays, a two-level direct index of the 64 K port space (256 pages
/// of 256 ports, untouched pages share one empty page) built at publish, so a lookup is two loads
/// whatever the number of regions.
/// </summary>
internal sealed class PioSnapshot : BusSnapshot
{
    private const int PageShift = 8;
    private const int PageSize = 1 << PageShift;
    private const int PageMask = PageSize - 1;
    private const int PageCount = ((int)TrapTable.MaxPort + 1) >> PageShift;

    // Declared before Empty: static initializers run in textual order and Empty's pages point here.
    private static readonly TrapRegion?[] EmptyPage = new TrapRegion?[PageSize];

    public static readonly PioSnapshot Empty = new([]);

    private readonly TrapRegion?[][] _pages;

    public PioSnapshot(TrapRegion[] decoding)
        : base(decoding)
    {
        _pages = new TrapRegion?[PageCount][];
        Array.Fill(_pages, EmptyPage);
        foreach (var region in Regions)
        {
            // Decoding PIO regions lie inside 0..MaxPort, so every port indexes a page.
            for (ulong port = region.Base; port <= region.Last; port++)
            {
                int page = (int)(port >> PageShift);
                if (ReferenceEquals(_pages[page], EmptyPage))
                {
                    _pages[page] = new TrapRegion?[PageSize];
                }

                _pages[page][(int)port & PageMask] = region;
            }
        }
    }

    /// <summary>Finds the region holding all of [port, port + length). Never locks, allocates or writes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TrapRegion? Find(ulong port, int length)
    {
        if (port > TrapTable.MaxPort)
        {
            return null;
        }

        // The index holds the one decoding region at this port: it holds the access or nothing does.
        var region = _pages[(int)(port >> PageShift)][(int)port & PageMask];
        return region is not null && (ulong)(length - 1) <= region.Last - port ? region : null;
    }
}
