using ActorVmm.Emulator;
using ActorVmm.Kvm;
using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Host.Backends;

/// <summary>The backends compiled into this build, checked against this machine.</summary>
public sealed class BackendCatalog : IBackendCatalog
{

    /// <inheritdoc />
    public bool IsAvailable(BackendKind kind, out string reason)
    {
        switch (kind)
        {
            case BackendKind.Kvm:
                // The cheap node check first (it honours ACTORVMM_KVM_DEVICE), then the backend's own
                // checks: API version and the capabilities it needs.
                return KvmProbe.IsAvailable(out reason) && KvmHypervisor.IsAvailable(out reason);
            case BackendKind.Emulator:
                // The interpreter needs nothing from the machine.
                reason = string.Empty;
                return true;
            default:
                reason = $"'{kind}' is not a concrete backend";
                return false;
        }
    }

    /// <inheritdoc />
    public IHypervisor Create(BackendKind kind, ILoggerFactory loggers) => kind switch
    {
        BackendKind.Emulator => new EmulatorHypervisor(loggers),
        BackendKind.Kvm => new KvmHypervisor(loggers),
        _ => throw new InvalidOperationException(IsAvailable(kind, out string reason) ? $"no factory for the {kind.ToName()} backend" : reason),
    };
}
