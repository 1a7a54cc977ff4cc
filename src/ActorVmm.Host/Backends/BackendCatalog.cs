using ActorVmm.Emulator;
using ActorVmm.Kvm.Machine;
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
                if (!KvmProbe.IsAvailable(out reason))
                {
                    return false;
                }

                reason = "the KVM backend is not part of this build yet";
                return false;
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
        _ => throw new InvalidOperationException(IsAvailable(kind, out string reason) ? $"no factory for the {kind.ToName()} backend" : reason),
    };
}
