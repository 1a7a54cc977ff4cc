namespace ActorVmm.Kvm.Tests.Kvm;

/// <summary>Whether this machine has a usable /dev/kvm, probed once per test run.</summary>
internal static class KvmAvailability
{
    private static readonly Lazy<string?> SkipReason = new(() =>
        KvmHypervisor.IsAvailable(out string reason) ? null : $"Skipped: needs a usable /dev/kvm ({reason}); the nested lane (tests/nested-kvm/run.sh) covers it");

    /// <summary>Null when KVM is usable, otherwise why the test is skipped.</summary>
    public static string? Skip => SkipReason.Value;
}

/// <summary>A fact that runs only where /dev/kvm opens; elsewhere it is skipped with the reason.</summary>
public sealed class KvmFactAttribute : FactAttribute
{
    public KvmFactAttribute() => Skip = KvmAvailability.Skip;
}

/// <summary>A theory that runs only where /dev/kvm opens; elsewhere it is skipped with the reason.</summary>
public sealed class KvmTheoryAttribute : TheoryAttribute
{
    public KvmTheoryAttribute() => Skip = KvmAvailability.Skip;
}
