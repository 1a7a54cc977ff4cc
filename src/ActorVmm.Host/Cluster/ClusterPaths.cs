using ActorVmm.Host.Cli;

namespace ActorVmm.Host.Cluster;

/// <summary>Paths a cluster VM definition names: made absolute on the client, since every node must have them at that same path.</summary>
public static class ClusterPaths
{
    /// <summary><paramref name="path"/> made absolute; an empty one is a <see cref="UsageException"/> naming <paramref name="option"/>.</summary>
    public static string Absolute(string option, string path) =>
        string.IsNullOrWhiteSpace(path) ? throw new UsageException($"{option} path is empty") : Path.GetFullPath(path);
}
