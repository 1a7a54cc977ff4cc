using ActorVmm.Host.Backends;
using ActorVmm.Host.Vms;
using ActorVmm.Host.Vms.Machine;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Host.Hosting;

/// <summary>Chooses the <see cref="IVmFleet"/> implementation for a backend.</summary>
public static class FleetFactory
{
    /// <summary>Creates the fleet whose VMs run on <paramref name="backend"/>; the caller disposes it.</summary>
    public static IVmFleet Create(IBackendCatalog catalog, BackendKind backend, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new MachineVmFleet(catalog.Create(backend, loggers), new LegacyDeviceSet(loggers), loggers);
    }
}
