using System.Diagnostics.Metrics;

namespace ActorVmm.Actors.Supervision;

/// <summary>Process-wide counters of device restarts and quarantines (System.Diagnostics.Metrics).</summary>
internal static class SupervisionMetrics
{
    private static readonly Meter Meter = new("ActorVmm.Supervision");

    /// <summary>Device restarts, tagged with vm and device.</summary>
    public static readonly Counter<long> Restarts = Meter.CreateCounter<long>("actorvmm.device.restarts", description: "Devices restarted with a fresh instance");

    /// <summary>Devices quarantined for good, tagged with vm and device.</summary>
    public static readonly Counter<long> Quarantines = Meter.CreateCounter<long>("actorvmm.device.quarantines", description: "Devices marked failed past their restart limit");
}
