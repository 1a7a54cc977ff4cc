using ActorVmm.Devices.Virtio.Block;

namespace ActorVmm.Host.Cli;

/// <summary>
/// The --disk images of one run, opened and locked for the VM's whole life (every incarnation of a virtio-blk device
/// shares its image, so a device restart never drops the lock another VM could then take). Disposing closes them,
/// which releases the locks.
/// </summary>
public sealed class DiskImages : IDisposable
{
    private readonly List<RawImageFile> _images;

    private DiskImages(List<RawImageFile> images) => _images = images;

    /// <summary>The open images, in --disk order.</summary>
    public IReadOnlyList<RawImageFile> Images => _images;

    /// <summary>Opens every disk (read-only ones with a shared lock, the others with an exclusive one); on any failure none stays open.</summary>
    /// <exception cref="UsageException">An image is missing, cannot be opened, or another process holds a conflicting lock on it.</exception>
    public static DiskImages Open(IReadOnlyList<DiskSpec> disks)
    {
        ArgumentNullException.ThrowIfNull(disks);
        var images = new List<RawImageFile>(disks.Count);
        try
        {
            foreach (var disk in disks)
            {
                images.Add(OpenOne(disk));
            }
        }
        catch
        {
            images.ForEach(image => image.Dispose());
            throw;
        }

        return new DiskImages(images);
    }

    /// <inheritdoc />
    public void Dispose() => _images.ForEach(image => image.Dispose());

    private static RawImageFile OpenOne(DiskSpec disk)
    {
        try
        {
            return RawImageFile.Open(disk.Path, disk.ReadOnly);
        }
        catch (BlockImageLockedException ex)
        {
            throw new UsageException(ex.Message, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"disk image '{disk.Path}' cannot be opened{(disk.ReadOnly ? " read-only" : string.Empty)}: {ex.Message}", ex);
        }
    }
}
