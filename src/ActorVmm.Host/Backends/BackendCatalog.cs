using ActorVmm.Kvm.Machine;

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
                reason = "the emulator backend is not part of this build yet";
                return false;
            default:
                reason = $"'{kind}' is not a concrete backend";
                return false;
        }
    }

    /// <inheritdoc />
    public IHypervisor Create(BackendKind kind) =>
        IsAvailable(kind, out string reason) ? throw new NotSupportedException(reason) : throw new InvalidOperationException(reason);
}
