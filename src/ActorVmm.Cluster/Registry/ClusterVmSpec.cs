using ActorVmm.Cluster.Placement;

namespace ActorVmm.Cluster.Registry;

/// <summary>
/// A cluster VM's definition as plain data: what crosses the wire from a client to a node, is kept in
/// the replicated registry, and is all a node needs to boot the VM again after its first node died.
/// Files are named by absolute path and must be at the same path on every node that may run the VM.
/// </summary>
/// <param name="Name">The VM's name, unique in the cluster (its entity and shard id).</param>
/// <param name="MemoryBytes">Guest RAM in bytes, a whole number of 4 KiB pages.</param>
/// <param name="Vcpus">vCPUs.</param>
/// <param name="ImagePath">A flat binary on the node's file system (absolute), or null when <paramref name="ImageBytes"/> carries it.</param>
/// <param name="ImageBytes">A small flat binary carried inline (at most <see cref="MaxInlineImageBytes"/>), or null.</param>
/// <param name="ConsoleLogPath">Where the node appends the guest's console (absolute), or null to discard it.</param>
public sealed record ClusterVmSpec(string Name, ulong MemoryBytes, int Vcpus, string? ImagePath, byte[]? ImageBytes, string? ConsoleLogPath)
{
    /// <summary>Largest image carried inline; anything larger is named by path (the registry is gossiped to every node).</summary>
    public const int MaxInlineImageBytes = 64 * 1024;

    /// <summary>Longest VM name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Most vCPUs one VM may have.</summary>
    public const int MaxVcpus = 255;

    /// <summary>Guest page size: memory is a whole number of these.</summary>
    public const ulong PageSize = 4096;

    /// <summary>What the VM takes from its node.</summary>
    public VmResources Resources => new(MemoryBytes, Vcpus);

    /// <summary>Why this definition cannot be used, or null when it can (checked by the gateway before anything is recorded).</summary>
    public string? Problem()
    {
        if (string.IsNullOrEmpty(Name) || Name.Length > MaxNameLength || !IsValidName(Name))
        {
            return $"'{Name}' is not a valid VM name: 1 to {MaxNameLength} letters, digits, '-', '_' or '.' (not first)";
        }

        if (MemoryBytes == 0 || MemoryBytes % PageSize != 0)
        {
            return $"VM '{Name}': memory must be a positive whole number of 4 KiB pages, not {MemoryBytes} bytes";
        }

        if (Vcpus is < 1 or > MaxVcpus)
        {
            return $"VM '{Name}': between 1 and {MaxVcpus} vCPUs, not {Vcpus}";
        }

        if ((ImagePath is null) == (ImageBytes is null))
        {
            return $"VM '{Name}': give exactly one of an image path or inline image bytes";
        }

        if (ImageBytes is { Length: > MaxInlineImageBytes })
        {
            return $"VM '{Name}': an inline image may be at most {MaxInlineImageBytes} bytes; name a larger one by path";
        }

        if (ImageBytes is { } bytes && (ulong)bytes.Length > MemoryBytes)
        {
            return $"VM '{Name}': the {bytes.Length}-byte image does not fit in {VmResources.Format(MemoryBytes)} of guest RAM";
        }

        foreach (var (what, path) in new[] { ("image", ImagePath), ("console log", ConsoleLogPath) })
        {
            if (path is not null && !Path.IsPathFullyQualified(path))
            {
                return $"VM '{Name}': the {what} path '{path}' must be absolute (the same path on every node)";
            }
        }

        return null;
    }

    /// <summary>Letters, digits, '-', '_' and '.' (not first): a file name and an actor name as it is.</summary>
    public static bool IsValidName(string name) =>
        name.Length > 0 && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
