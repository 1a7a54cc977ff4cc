namespace ActorVmm.Actors.Console;

/// <summary>Where a VM's guest console output goes. The sink reopens it after a failure.</summary>
/// <param name="Description">For logs ("stdout", a file path, "none").</param>
/// <param name="Open">Opens the target stream; called on every (re)start of the sink.</param>
public sealed record ConsoleTarget(string Description, Func<Stream> Open)
{
    /// <summary>The host's standard output (log lines never go there: see docs/architecture.md).</summary>
    public static ConsoleTarget Stdout { get; } = new("stdout", System.Console.OpenStandardOutput);

    /// <summary>Discards the output (it is still counted).</summary>
    public static ConsoleTarget None { get; } = new("none", () => Stream.Null);

    /// <summary>Appends to a file, created if missing.</summary>
    public static ConsoleTarget File(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new ConsoleTarget(path, () => new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read));
    }
}
