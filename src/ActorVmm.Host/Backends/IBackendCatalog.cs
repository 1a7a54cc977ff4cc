using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Host.Backends;

/// <summary>Which backends this build and machine offer, and how to create them.</summary>
public interface IBackendCatalog
{
    /// <summary>True when <paramref name="kind"/> (KVM or emulator) can run here; otherwise <paramref name="reason"/> says why.</summary>
    bool IsAvailable(BackendKind kind, out string reason);

    /// <summary>Creates the hypervisor for a concrete kind (not <see cref="BackendKind.Auto"/>); it logs through <paramref name="loggers"/>.</summary>
    IHypervisor Create(BackendKind kind, ILoggerFactory loggers);
}
