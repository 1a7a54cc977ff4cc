namespace ActorVmm.Machine.Traps;

/// <summary>A trap handler threw; the dispatcher quarantined its region and reports it here.</summary>
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

    /// <summary>The handler threw; the region is now quarantined and a fault was raised.</summary>
    Faulted = 3,
}
