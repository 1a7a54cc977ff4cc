using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// What a vCPU thread calls on every I/O or MMIO exit: look the access up in the range table and
/// call the region's handler synchronously. An access no single region holds is split, as a PC
/// chipset splits a wide access to 8-bit ISA ports, into per-region pieces; bytes no region claims
/// behave as an empty bus (reads all ones, writes dropped) and are counted. A handler exception never
/// reaches the vCPU thread: the handler is quarantined with one volatile store (no table publish on
/// the vCPU thread) and <see cref="Faulted"/> tells the supervisor.
/// </summary>
public sealed class TrapDispatcher
{
    private const byte EmptyBus = 0xFF;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _unhandledLogLimit = new(perSecond: 20);

    /// <summary>Creates a dispatcher over a table (it only reads it).</summary>
    public TrapDispatcher(TrapTable table, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        Table = table;
        _logger = logger ?? NullLogger.Instance;
        Unhandled = new UnhandledCounters(table.MaxVcpus);
    }

    /// <summary>The table this dispatcher reads.</summary>
    public TrapTable Table { get; }

    /// <summary>Log unhandled port accesses (kvmtool's <c>--debug-ioport</c>).</summary>
    public bool DebugIoport { get; set; }

    /// <summary>Log unhandled MMIO accesses (kvmtool's <c>--debug-mmio</c>).</summary>
    public bool DebugMmio { get; set; }

    /// <summary>Counters of accesses (or pieces of split accesses) no region claimed.</summary>
    public UnhandledCounters Unhandled { get; }

    /// <summary>
    /// Raised on the vCPU thread after a handler threw and was quarantined. Subscribers must not block
    /// (the supervisor turns it into a message); their exceptions are swallowed.
    /// </summary>
    public event Action<TrapFault>? Faulted;

    /// <summary>Dispatches one access. <paramref name="data"/>'s length is the access size.</summary>
    public DispatchOutcome Dispatch(int vcpuId, TrapBus bus, ulong address, TrapDirection direction, Span<byte> data)
    {
        var region = Table.Lookup(bus, address, data.Length);
        if (region is null)
        {
            return DispatchMiss(vcpuId, bus, address, direction, data);
        }

        // The hot path, written out here rather than through Deliver: the JIT does not inline a method
        // with a try/catch, and the extra call showed in the dispatch benchmark. Keep the two in step.
        var binding = region.Binding;
        if (binding.IsQuarantined)
        {
            return DropQuarantined(region, vcpuId, direction, data);
        }

        RegionCounters.CountAccess(region.CounterCells, vcpuId, direction);
        try
        {
            binding.Handler(new TrapAccess(vcpuId, bus, address, address - region.Base, direction, data));
            return DispatchOutcome.Handled;
        }
        catch (Exception ex)
        {
            OnHandlerFault(region, ex, vcpuId, address, direction, data);
            return DispatchOutcome.Faulted;
        }
    }

    /// <summary>Delivers one piece of a split access to the region that holds it (the miss path's copy of the hot path).</summary>
    private DispatchOutcome Deliver(TrapRegion region, int vcpuId, TrapBus bus, ulong address, TrapDirection direction, Span<byte> data)
    {
        var binding = region.Binding;
        if (binding.IsQuarantined)
        {
            return DropQuarantined(region, vcpuId, direction, data);
        }

        RegionCounters.CountAccess(region.CounterCells, vcpuId, direction);
        try
        {
            binding.Handler(new TrapAccess(vcpuId, bus, address, address - region.Base, direction, data));
            return DispatchOutcome.Handled;
        }
        catch (Exception ex)
        {
            OnHandlerFault(region, ex, vcpuId, address, direction, data);
            return DispatchOutcome.Faulted;
        }
    }

    /// <summary>
    /// The miss path: no decoding region holds the whole access. Each byte goes to the region that
    /// decodes it, in naturally aligned pieces of 1, 2 or 4 bytes within one region (the sizes a
    /// handler expects); runs of bytes no region decodes read all ones, take no writes and are counted.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DispatchOutcome DispatchMiss(int vcpuId, TrapBus bus, ulong address, TrapDirection direction, Span<byte> data)
    {
        var snapshot = Table.Snapshot(bus);
        int length = data.Length;
        ulong busLast = bus == TrapBus.Pio ? TrapTable.MaxPort : ulong.MaxValue;
        bool claimed = false, faulted = false;
        int at = 0;
        while (at < length)
        {
            ulong piece = address + (ulong)at;
            bool onBus = piece >= address && piece <= busLast;
            var region = onBus ? snapshot.Search(piece, 1) : null;
            if (region is null)
            {
                // A gap runs to the next region's start, the end of the access or the end of the bus.
                int gap = length - at;
                if (onBus && snapshot.NextStart(piece) is { } next && next - piece < (ulong)gap)
                {
                    gap = (int)(next - piece);
                }

                OnUnhandled(vcpuId, bus, piece, direction, data.Slice(at, gap));
                at += gap;
                continue;
            }

            // Bytes of the access left in this region: at least 1, as the region holds 'piece'. Written
            // without Last - piece + 1, which wraps for a region ending at 2^64 - 1 that starts at 0.
            ulong beyond = region.Last - piece;
            int inRegion = beyond >= (ulong)(length - at - 1) ? length - at : (int)beyond + 1;
            int size = AlignedPieceSize(piece, inRegion);
            claimed = true;
            faulted |= Deliver(region, vcpuId, bus, piece, direction, data.Slice(at, size)) == DispatchOutcome.Faulted;
            at += size;
        }

        return faulted ? DispatchOutcome.Faulted : claimed ? DispatchOutcome.Split : DispatchOutcome.Unhandled;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DispatchOutcome DropQuarantined(TrapRegion region, int vcpuId, TrapDirection direction, Span<byte> data)
    {
        region.Counters.CountDropped(vcpuId);
        FillEmptyBus(direction, data);
        return DispatchOutcome.Quarantined;
    }

    /// <summary>The largest of 4, 2, 1 that fits in <paramref name="available"/> bytes and to which the address is aligned.</summary>
    private static int AlignedPieceSize(ulong address, int available)
    {
        int size = 4;
        while (size > available || (address & (ulong)(size - 1)) != 0)
        {
            size >>= 1;
        }

        return size;
    }

    private static void FillEmptyBus(TrapDirection direction, Span<byte> data)
    {
        if (direction == TrapDirection.Read)
        {
            data.Fill(EmptyBus);
        }
    }

    private void OnUnhandled(int vcpuId, TrapBus bus, ulong address, TrapDirection direction, Span<byte> data)
    {
        FillEmptyBus(direction, data);
        Unhandled.Count(vcpuId, bus, direction);
        bool debug = bus == TrapBus.Pio ? DebugIoport : DebugMmio;
        if (debug && _unhandledLogLimit.TryAcquire(out long suppressed))
        {
            _logger.LogWarning(
                "Unhandled {Bus} {Direction} of {Length} bytes at {Address:X} (value {Value:X}) from vCPU {Vcpu}; {Suppressed} similar lines suppressed",
                bus,
                direction,
                data.Length,
                address,
                direction == TrapDirection.Write ? TrapAccess.ReadLittleEndian(data) : 0UL,
                vcpuId,
                suppressed);
        }
    }

    private void OnHandlerFault(TrapRegion region, Exception ex, int vcpuId, ulong address, TrapDirection direction, Span<byte> data)
    {
        // The handler may have left the read buffer half-filled: the guest sees an empty bus instead.
        FillEmptyBus(direction, data);

        // One volatile store on the handler's binding: every snapshot version sharing it stops calling it,
        // and nothing is rebuilt or published on this vCPU thread. Lifting it is the writer's job.
        region.Binding.Quarantine();
        _logger.LogError(ex, "Handler of region {Region} threw on {Direction} at {Address:X} from vCPU {Vcpu}; region quarantined", region.ToString(), direction, address, vcpuId);
        var handlers = Faulted;
        if (handlers is null)
        {
            return;
        }

        var fault = new TrapFault(region, ex, vcpuId, address, direction);
        foreach (var subscriber in handlers.GetInvocationList().Cast<Action<TrapFault>>())
        {
            try
            {
                subscriber(fault);
            }
            catch (Exception subscriberError)
            {
                _logger.LogError(subscriberError, "A fault subscriber threw while handling the fault of {Region}", region.ToString());
            }
        }
    }
}
