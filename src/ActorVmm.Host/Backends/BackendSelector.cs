using ActorVmm.Host.Cli;

namespace ActorVmm.Host.Backends;

/// <summary>Turns <c>--backend</c> into a concrete backend, with the reason for the choice.</summary>
public static class BackendSelector
{
    /// <summary>
    /// Auto picks KVM when it opens, else the emulator; an explicit kind must be available.
    /// </summary>
    /// <exception cref="UsageException">The requested backend is not available here.</exception>
    public static (BackendKind Kind, string Reason) Select(BackendKind requested, IBackendCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        switch (requested)
        {
            case BackendKind.Auto:
                if (catalog.IsAvailable(BackendKind.Kvm, out string kvmReason))
                {
                    return (BackendKind.Kvm, "auto: /dev/kvm is usable");
                }

                if (catalog.IsAvailable(BackendKind.Emulator, out string emulatorReason))
                {
                    return (BackendKind.Emulator, $"auto: {kvmReason}, using the emulator");
                }

                throw new UsageException($"no backend is available: {kvmReason}; {emulatorReason}");
            default:
                if (!catalog.IsAvailable(requested, out string reason))
                {
                    throw new UsageException($"the {requested.ToName()} backend is not available: {reason}");
                }

                return (requested, $"{requested.ToName()}: requested with --backend");
        }
    }
}
