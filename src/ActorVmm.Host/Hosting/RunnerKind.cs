namespace ActorVmm.Host.Hosting;

/// <summary>What runs the VMs (<c>--runner</c>).</summary>
public enum RunnerKind
{
    /// <summary>The actor layer: VmManager, a VmActor per VM, supervised devices, console sink actors.</summary>
    Actors = 0,

    /// <summary>The machine layer directly (no actors): devices registered straight into the trap table; for comparisons.</summary>
    Machine = 1,
}

/// <summary>Parses <c>--runner</c>.</summary>
public static class RunnerKinds
{
    /// <summary>Parses a runner name (case-insensitive).</summary>
    /// <exception cref="Cli.UsageException">Unknown name.</exception>
    public static RunnerKind Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "actors" => RunnerKind.Actors,
        "machine" => RunnerKind.Machine,
        _ => throw new Cli.UsageException($"unknown runner '{text}': expected actors or machine"),
    };
}
