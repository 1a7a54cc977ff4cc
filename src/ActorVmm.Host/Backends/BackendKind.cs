namespace ActorVmm.Host.Backends;

/// <summary>The backend a user asks for with <c>--backend</c>.</summary>
public enum BackendKind
{
    /// <summary>KVM when <c>/dev/kvm</c> opens, else the emulator.</summary>
    Auto = 0,

    /// <summary>Linux KVM.</summary>
    Kvm = 1,

    /// <summary>The software x86 interpreter.</summary>
    Emulator = 2,
}

/// <summary>Parses and names <see cref="BackendKind"/> values as the command line spells them.</summary>
public static class BackendKinds
{
    /// <summary>The accepted spellings, for help and error text.</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "kvm", "emulator"];

    /// <summary>Parses a <c>--backend</c> value (case-insensitive).</summary>
    public static bool TryParse(string? text, out BackendKind kind)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "auto":
                kind = BackendKind.Auto;
                return true;
            case "kvm":
                kind = BackendKind.Kvm;
                return true;
            case "emulator":
                kind = BackendKind.Emulator;
                return true;
            default:
                kind = default;
                return false;
        }
    }

    /// <summary>The command-line spelling of a kind.</summary>
    public static string ToName(this BackendKind kind) => Names[(int)kind];
}
