namespace ActorVmm.Actors.Console;

/// <summary>The console sink's target failed; its parent restarts it (the retained bytes go out first).</summary>
public sealed class ConsoleSinkException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConsoleSinkException(string target, Exception innerException)
        : base($"Console target '{target}' failed: {innerException?.Message}", innerException)
    {
        Target = target;
    }

    /// <summary>The target's description.</summary>
    public string Target { get; }
}
