using ActorVmm.Cluster.Registry;
using ActorVmm.Machine.Boot;

namespace ActorVmm.Cluster.Entities;

/// <summary>
/// The files a VM definition names, as seen from the node that is to run it: every path must exist
/// there (the same path on every node); a refusal names this node, so the operator knows which
/// host lacks the file.
/// </summary>
public static class NodeFiles
{
    /// <summary>Why <paramref name="spec"/> cannot run on <paramref name="node"/>, or null when its files are there.</summary>
    public static string? Problem(ClusterVmSpec spec, string node)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.ImagePath is { } image)
        {
            var file = new FileInfo(image);
            if (!file.Exists)
            {
                return $"image '{image}' of VM '{spec.Name}' does not exist on node {node}";
            }

            if (file.Attributes.HasFlag(FileAttributes.Directory) || file.LinkTarget is not null && file.ResolveLinkTarget(returnFinalTarget: true) is not FileInfo { Exists: true })
            {
                return $"image '{image}' of VM '{spec.Name}' is not a regular file on node {node}";
            }

            if ((ulong)file.Length > RoomAboveLoadAddress(spec.MemoryBytes))
            {
                return $"image '{image}' of VM '{spec.Name}' ({file.Length} bytes) does not fit in its {spec.MemoryBytes} bytes of guest RAM above 0x{FlatBinaryLoader.LoadAddress:X} (on node {node})";
            }
        }
        else if (spec.ImageBytes is { } bytes && (ulong)bytes.Length > RoomAboveLoadAddress(spec.MemoryBytes))
        {
            return $"the image of VM '{spec.Name}' ({bytes.Length} bytes) does not fit in its {spec.MemoryBytes} bytes of guest RAM above 0x{FlatBinaryLoader.LoadAddress:X}";
        }

        if (spec.ConsoleLogPath is { } log)
        {
            string? directory = Path.GetDirectoryName(log);
            if (directory is null || !Directory.Exists(directory))
            {
                return $"console log directory '{directory ?? log}' of VM '{spec.Name}' does not exist on node {node}";
            }

            if (Directory.Exists(log))
            {
                return $"console log '{log}' of VM '{spec.Name}' is a directory on node {node}";
            }
        }

        return null;
    }

    /// <summary>The guest image's bytes, read on this node (call <see cref="Problem"/> first).</summary>
    public static byte[] ReadImage(ClusterVmSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.ImageBytes is { } bytes)
        {
            return bytes;
        }

        byte[] image = File.ReadAllBytes(spec.ImagePath!);
        if ((ulong)image.Length > RoomAboveLoadAddress(spec.MemoryBytes))
        {
            // The file grew between the check and the read.
            throw new IOException($"image '{spec.ImagePath}' ({image.Length} bytes) no longer fits in guest RAM");
        }

        return image;
    }

    private static ulong RoomAboveLoadAddress(ulong memory) =>
        memory > FlatBinaryLoader.LoadAddress ? memory - FlatBinaryLoader.LoadAddress : 0;
}
