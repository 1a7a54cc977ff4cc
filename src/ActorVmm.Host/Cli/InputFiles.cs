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
        ArgumentNullException.ThrowIfNull(tooLarge);
        using var file = OpenRegularFile(what, path, out var status);

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

    /// <summary>Checks that <paramref name="path"/> is a readable, non-empty regular file without reading it; returns its size.</summary>
    /// <exception cref="UsageException">Empty path, missing, unreadable, not a regular file, or empty.</exception>
    public static ulong CheckRegularFile(string what, string path)
    {
        using var file = OpenRegularFile(what, path, out var status);
        return status.stx_size;
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenRegularFile(string what, string path, out Libc.statx status)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new UsageException($"{what} path is empty");
        }

        var file = UnixFiles.Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_NOCTTY, 0, out int errno);
        if (file.IsInvalid)
        {
            file.Dispose();
            throw new UsageException(errno == Libc.ENOENT
                ? $"{what} '{path}' does not exist"
                : $"{what} '{path}' cannot be read: {Libc.ErrorText(errno)}");
        }

        try
        {
            status = UnixFiles.Stat(file);
        }
        catch (IOException ex)
        {
            file.Dispose();
            throw new UsageException($"{what} '{path}' cannot be read: {ex.Message}", ex);
        }

        uint type = UnixFiles.FileType(status);
        string? refusal = type == Libc.S_IFDIR ? $"{what} '{path}' is a directory, not a file"
            : type != Libc.S_IFREG ? $"{what} '{path}' is {UnixFiles.Describe(type)}, not a regular file"
            : status.stx_size == 0 ? $"{what} '{path}' is empty"
            : null;
        if (refusal is not null)
        {
            file.Dispose();
            throw new UsageException(refusal);
        }

        return file;
    }
}
