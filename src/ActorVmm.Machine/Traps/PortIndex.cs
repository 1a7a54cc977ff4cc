using System.Runtime.CompilerServices;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// Direct index of the 64 K port space for the hot path: 256 pages of 256 ports, a page allocated
/// when a region first decodes in it. Unlike a snapshot it is updated in place by the writer (under
/// the table's write lock, after publishing), so a churning writer does not hand every vCPU a cold
/// copy; a lookup trusts an entry only when the region version is live at the epoch of the snapshot
/// it read, and otherwise searches that snapshot.
/// </summary>
internal sealed class PortIndex
{
    private const int PageShift = 8;
    private const int PageSize = 1 << PageShift;
    private const int PageMask = PageSize - 1;
    private const int PageCount = ((int)TrapTable.MaxPort + 1) >> PageShift;

    private readonly TrapRegion?[]?[] _pages = new TrapRegion?[PageCount][];

    /// <summary>The region version last indexed at <paramref name="port"/>, or null; a hint to validate.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TrapRegion? Hint(ulong port) =>
        port <= TrapTable.MaxPort && _pages[(int)(port >> PageShift)] is { } page ? page[(int)port & PageMask] : null;

    /// <summary>Brings the index in line with a publish: ports of retired versions cleared, newly live ones set. Writer only.</summary>
    public void Update(List<TrapRegion> retired, List<TrapRegion> born)
    {
        foreach (var region in retired)
        {
            for (ulong port = region.Base; port <= region.Last; port++)
            {
                var page = _pages[(int)(port >> PageShift)];
                if (page is not null && ReferenceEquals(page[(int)port & PageMask], region))
                {
                    Volatile.Write(ref page[(int)port & PageMask], null);
                }
            }
        }

        foreach (var region in born)
        {
            // Decoding port regions lie inside 0..MaxPort, so every port has a page.
            for (ulong port = region.Base; port <= region.Last; port++)
            {
                var page = _pages[(int)(port >> PageShift)];
                if (page is null)
                {
                    page = new TrapRegion?[PageSize];
                    Volatile.Write(ref _pages[(int)(port >> PageShift)], page);
                }

                Volatile.Write(ref page[(int)port & PageMask], region);
            }
        }
    }
}
