namespace ActorVmm.Machine.Traps;

/// <summary>A trap handler threw; the dispatcher quarantined it and reports it here.</summary>
/// <param name="Region">The region as it was when the handler threw.</param>
/// <param name="Exception">What the handler threw.</param>
/// <param name="VcpuId">The vCPU whose access failed.</param>
/// <param name="Address">The address accessed.</param>
/// <param name="Direction">Read or write.</param>
public sealed record TrapFault(TrapRegion Region, Exception Exception, int VcpuId, ulong Address, TrapDirection Direction);

/// <summary>What became of one dispatched access.</summary>
public enum DispatchOutcome
{
    /// <summary>A region's handler handled it.</summary>
    Handled = 0,

    /// <summary>No region holds the access: reads returned all ones, writes were dropped.</summary>
    Unhandled = 1,

    /// <summary>The region is quarantined: answered as an empty bus and counted.</summary>
    Quarantined = 2,

    /// <summary>The handler threw (of the region, or of one piece of a split access); it is now quarantined and a fault was raised.</summary>
    Faulted = 3,

    /// <summary>
    /// No single region held the access: it was split into per-region pieces (as a PC chipset splits a wide
    /// access to 8-bit ports), bytes no region decodes answered as an empty bus; at least one piece was claimed.
    /// </summary>
    Split = 4,
}
