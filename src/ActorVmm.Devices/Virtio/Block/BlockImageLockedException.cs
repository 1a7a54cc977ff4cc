namespace ActorVmm.Devices.Virtio.Block;

/// <summary>A disk image is in use: another VM (in this or another process) holds a lock on it that conflicts with ours.</summary>
public sealed class BlockImageLockedException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public BlockImageLockedException(string path, bool readOnly)
        : base(readOnly
            ? $"Disk image '{path}' is in use: another VM has it open for writing (a read-only open takes a shared lock, which a writer's exclusive lock refuses)"
            : $"Disk image '{path}' is in use: another VM has it open (a writable open takes an exclusive lock, flock LOCK_EX|LOCK_NB)")
    {
        ImagePath = path;
    }

    /// <summary>The image.</summary>
    public string ImagePath { get; }
}
