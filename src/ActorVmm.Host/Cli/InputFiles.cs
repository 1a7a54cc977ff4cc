using ActorVmm.Host.Interop;

namespace ActorVmm.Host.Cli;

/// <summary>
/// Reads input files (images, --config) with every check decided before reading: the file is
/// opened without blocking (a FIFO never hangs the command), must be a regular file (not
/// /dev/zero or a FIFO), and its size is checked against the limit before any byte is read (a
/// sparse 1.5 GB file is refused at once, not read first).
/// </summary>
public static class InputFiles
{
    /// <summary>Reads <paramref name="path"/> whole; <paramref name="tooLarge"/> gives the message for a file over <paramref name="maxBytes"/>.</summary>
    /// <param name="what">How messages name the file: "image", "config file".</param>
    /// <param name="path">The file.</param>
    /// <param name="maxBytes">Largest size accepted.</param>
    /// <param name="tooLarge">The one-line message for a file of the given size over the limit.</param>
    /// <exception cref="UsageException">Empty path, missing, unreadable, not a regular file, empty or too large.</exception>
    public static byte[] ReadRegularFile(string what, string path, ulong maxBytes, Func<ulong, string> tooLarge)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tooLarge);
        if (path.Length == 0)
        {
            throw new UsageException($"{what} path is empty");
        }

        using var file = UnixFiles.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_NOCTTY, 0, out int errno);
        if (file.IsInvalid)
        {
            throw new UsageException(errno == Libc.ENOENT
                ? $"{what} '{path}' does not exist"
                : $"{what} '{path}' cannot be read: {Libc.ErrorText(errno)}");
        }

        var status = UnixFiles.Stat(file);
        uint type = UnixFiles.FileType(status);
        if (type == Libc.S_IFDIR)
        {
            throw new UsageException($"{what} '{path}' is a directory, not a file");
        }

        if (type != Libc.S_IFREG)
        {
            throw new UsageException($"{what} '{path}' is {UnixFiles.Describe(type)}, not a regular file");
        }

        if (status.stx_size == 0)
        {
            throw new UsageException($"{what} '{path}' is empty");
        }

        if (status.stx_size > maxBytes)
        {
            throw new UsageException(tooLarge(status.stx_size));
        }

        // The size was checked, so this fits in an array; a file that grows meanwhile is read only up to it.
        byte[] content = new byte[(int)status.stx_size];
        int total = 0;
        try
        {
            while (total < content.Length)
            {
                int read = RandomAccess.Read(file, content.AsSpan(total), total);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }
        }
        catch (IOException ex)
        {
            throw new UsageException($"{what} '{path}' cannot be read: {ex.Message}", ex);
        }

        return total == content.Length ? content : content[..total];
    }
}
