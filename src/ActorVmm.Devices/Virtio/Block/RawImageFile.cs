using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ActorVmm.Devices.Virtio.Block;

/// <summary>
/// A raw disk image (sector n at byte 512×n) as a <see cref="IBlockBackend"/>, opened with a lock so two VMs never
/// share it: flock(LOCK_EX|LOCK_NB) for a writable image, flock(LOCK_SH|LOCK_NB) for a read-only one (readers may
/// share, a writer excludes everyone); a conflict is a <see cref="BlockImageLockedException"/> naming the image. The
/// lock lives as long as the file is open; one image serves every incarnation of its device (open it with the VM's
/// devices, dispose it after the VM stopped). Reads and writes are pread/pwrite (<see cref="RandomAccess"/>), flush is
/// fdatasync; with <see cref="BlockIoMode.ThreadPool"/> they run on the thread pool.
/// </summary>
public sealed class RawImageFile : IBlockBackend, IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly BlockIoMode _mode;

    private RawImageFile(string path, SafeFileHandle handle, bool readOnly, BlockIoMode mode)
    {
        Name = path;
        _handle = handle;
        IsReadOnly = readOnly;
        _mode = mode;
        Length = RandomAccess.GetLength(handle);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public long Length { get; }

    /// <inheritdoc />
    public bool IsReadOnly { get; }

    /// <summary>Opens and locks the image at <paramref name="path"/>.</summary>
    /// <exception cref="BlockImageLockedException">Another open of the image holds a conflicting lock.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="UnauthorizedAccessException">The file cannot be opened with the access asked for.</exception>
    /// <exception cref="IOException">Any other failure, with the system's reason.</exception>
    public static RawImageFile Open(string path, bool readOnly, BlockIoMode mode = BlockIoMode.ThreadPool)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        int fd = ImageFileInterop.open(fullPath, (readOnly ? ImageFileInterop.O_RDONLY : ImageFileInterop.O_RDWR) | ImageFileInterop.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string reason = Marshal.GetPInvokeErrorMessage(errno);
            throw errno switch
            {
                ImageFileInterop.ENOENT => new FileNotFoundException($"Disk image '{fullPath}' does not exist", fullPath),
                ImageFileInterop.EACCES => new UnauthorizedAccessException($"Disk image '{fullPath}' cannot be opened {(readOnly ? "for reading" : "for writing")}: {reason}"),
                _ => new IOException($"Disk image '{fullPath}' cannot be opened: {reason}"),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        int lockOperation = (readOnly ? ImageFileInterop.LOCK_SH : ImageFileInterop.LOCK_EX) | ImageFileInterop.LOCK_NB;
        if (ImageFileInterop.flock(handle, lockOperation) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw errno == ImageFileInterop.EWOULDBLOCK
                ? new BlockImageLockedException(fullPath, readOnly)
                : new IOException($"Disk image '{fullPath}' cannot be locked: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        try
        {
            return new RawImageFile(fullPath, handle, readOnly, mode);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask ReadAsync(long offset, Memory<byte> destination)
    {
        if (_mode == BlockIoMode.Inline)
        {
            try
            {
                ReadFully(offset, destination.Span);
                return ValueTask.CompletedTask;
            }
            catch (IOException ex)
            {
                return ValueTask.FromException(ex);
            }
        }

        return ReadFullyAsync(offset, destination);
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source)
    {
        if (IsReadOnly)
        {
            return ValueTask.FromException(new IOException($"Disk image '{Name}' is read-only"));
        }

        if (_mode == BlockIoMode.Inline)
        {
            try
            {
                RandomAccess.Write(_handle, source.Span, offset);
                return ValueTask.CompletedTask;
            }
            catch (IOException ex)
            {
                return ValueTask.FromException(ex);
            }
        }

        return RandomAccess.WriteAsync(_handle, source, offset);
    }

    /// <inheritdoc />
    public ValueTask FlushAsync()
    {
        if (_mode == BlockIoMode.Inline)
        {
            try
            {
                Sync();
                return ValueTask.CompletedTask;
            }
            catch (IOException ex)
            {
                return ValueTask.FromException(ex);
            }
        }

        return new ValueTask(Task.Run(Sync));
    }

    /// <summary>Closes the image and releases its lock.</summary>
    public void Dispose() => _handle.Dispose();

    private void ReadFully(long offset, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[done..], offset + done);
            if (n == 0)
            {
                throw new IOException($"Disk image '{Name}' ended at byte {offset + done}, inside a read");
            }

            done += n;
        }
    }

    private async ValueTask ReadFullyAsync(long offset, Memory<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = await RandomAccess.ReadAsync(_handle, destination[done..], offset + done);
            if (n == 0)
            {
                throw new IOException($"Disk image '{Name}' ended at byte {offset + done}, inside a read");
            }

            done += n;
        }
    }

    private void Sync()
    {
        if (!IsReadOnly && ImageFileInterop.fdatasync(_handle) != 0)
        {
            throw new IOException($"fdatasync of disk image '{Name}' failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }
}
