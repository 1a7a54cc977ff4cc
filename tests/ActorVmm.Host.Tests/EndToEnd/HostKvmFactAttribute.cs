using ActorVmm.Host.Backends;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>A fact that runs only where the host's own backend probe finds /dev/kvm usable (what <c>--backend kvm</c> needs); skipped with the reason elsewhere.</summary>
public sealed class HostKvmFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> SkipReason = new(() =>
        new BackendCatalog().IsAvailable(BackendKind.Kvm, out string reason) ? null : $"Skipped: needs a usable /dev/kvm ({reason})");

    /// <summary>Skips the test when KVM is not usable.</summary>
    public HostKvmFactAttribute() => Skip = SkipReason.Value;
}
