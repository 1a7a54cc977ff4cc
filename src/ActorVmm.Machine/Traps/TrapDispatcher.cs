using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// What a vCPU thread calls on every I/O or MMIO exit: look the access up in the range table and
/// call the region's handler synchronously. Unclaimed accesses behave as an empty bus (reads all
/// ones, writes dropped) and are counted; a handler exception never reaches the vCPU thread.
/// </summary>
public sealed class TrapDispatcher
{
    private readonly ILogger _logger;
    private readonly LogRateLimiter _unhandledLogLimit = new(perSecond: 20);

    /// <summary>Creates a dispatcher over a table.</summary>
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

    /// <summary>Counters of accesses no region claimed.</summary>
    public UnhandledCounters Unhandled { get; }

    /// <summary>
    /// Raised on the vCPU thread after a handler threw and its region was quarantined. Subscribers
    /// must not block (the supervisor turns it into a message); their exceptions are swallowed.
    /// </summary>
    public event Action<TrapFault>? Faulted;

    /// <summary>Dispatches one access. <paramref name="data"/>'s length is the access size.</summary>
    public DispatchOutcome Dispatch(int vcpuId, TrapBus bus, ulong address, TrapDirection direction, Span<byte> data)
    {
        var region = Table.Lookup(bus, address, data.Length);
        if (region is null)
        {
            OnUnhandled(vcpuId, bus, address, direction, data);
            return DispatchOutcome.Unhandled;
        }

        if (region.IsQuarantined)
        {
            region.Counters.CountDropped(vcpuId);
            FillEmptyBus(direction, data);
            return DispatchOutcome.Quarantined;
        }

        region.Counters.CountAccess(vcpuId, direction);
        try
        {
            region.Handler(new TrapAccess(vcpuId, bus, address, address - region.Base, direction, data));
            return DispatchOutcome.Handled;
        }
        catch (Exception ex)
        {
            OnHandlerFault(region, ex, vcpuId, address, direction, data);
            return DispatchOutcome.Faulted;
        }
    }

    private static void FillEmptyBus(TrapDirection direction, Span<byte> data)
    {
        if (direction == TrapDirection.Read)
        {
            data.Fill(0xFF);
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
        Table.Quarantine(region.Handle);
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
