using System.Globalization;
using ActorVmm.Host.Interop;

namespace ActorVmm.Host.Cli;

/// <summary>
/// Checks output paths (--console-log, --log-file, fleet --console-dir) by really opening them
/// before anything starts, so an empty, unwritable or kernel-interface (/proc, /sys) path is one
/// line and exit 2, not a trace later. Opens never block (a FIFO without a reader is refused) and
/// a file the check creates is removed again, so a refused command leaves nothing behind.
/// </summary>
public static class OutputPaths
{
    private const uint CreateMode = 0x1B6; // 0666, less the umask, as every file the host creates.

    /// <summary>Checks that <paramref name="path"/> can be opened for appending.</summary>
    /// <exception cref="UsageException">It cannot, with the reason.</exception>
    public static void CheckFile(string option, string? path)
    {
        if (path is null)
        {
            return;
        }

        if (path.Length == 0)
        {
            throw new UsageException($"{option} path is empty");
        }

        bool existed = UnixFiles.TryLstat(path, out _, out _);
        using (var file = UnixFiles.Open(path, Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_NONBLOCK | Libc.O_NOCTTY, CreateMode, out int errno))
        {
            if (file.IsInvalid)
            {
                throw new UsageException(OpenFailure(option, path, errno));
            }

            if (UnixFiles.IsOnKernelFileSystem(file))
            {
                throw new UsageException($"{option} '{path}' is a kernel interface (/proc or /sys), not a file for logs");
            }
        }

        if (!existed)
        {
            File.Delete(path);
        }
    }

    /// <summary>Checks that <paramref name="path"/> is, or can be created as, a directory that files can be written into; creates it.</summary>
    /// <exception cref="UsageException">It cannot, with the reason.</exception>
    public static void CheckDirectory(string option, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new UsageException($"{option} path is empty");
        }

        if (File.Exists(path))
        {
            throw new UsageException($"{option} '{path}' is a file, not a directory");
        }

        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} '{path}' cannot be created: {ex.Message}", ex);
        }

        string probe = Path.Combine(path, $".actorvmm-write-check-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}");
        using (var file = UnixFiles.Open(probe, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_NOCTTY, CreateMode, out int errno))
        {
            if (file.IsInvalid)
            {
                throw new UsageException($"{option} '{path}' is not writable: {Libc.ErrorText(errno)}");
            }

            if (UnixFiles.IsOnKernelFileSystem(file))
            {
                File.Delete(probe);
                throw new UsageException($"{option} '{path}' is a kernel interface (/proc or /sys), not a directory for logs");
            }
        }

        File.Delete(probe);
    }

    private static string OpenFailure(string option, string path, int errno)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        return errno switch
        {
            Libc.EISDIR => $"{option} '{path}' is a directory, not a file",
            Libc.ENXIO => $"{option} '{path}' is a FIFO with no reader",
            Libc.ENOENT when directory is not null && !Directory.Exists(directory) => $"{option} '{path}': directory '{directory}' does not exist",
            _ => $"{option} '{path}' cannot be written: {Libc.ErrorText(errno)}",
        };
    }
}
