using System.Runtime.InteropServices;
using ActorVmm.Host.Interop;

namespace ActorVmm.Host.Control;

/// <summary>
/// Where control sockets live: <c>$XDG_RUNTIME_DIR/actorvmm</c> (per-user, created by the login
/// manager with mode 0700), else <c>/tmp/actorvmm-UID</c>; one socket per host process, named by its pid.
/// The directory is trusted only when it is a real directory (not a symbolic link), owned by this
/// user, with mode 0700: in a shared /tmp another user could create it first and then replace our
/// sockets with theirs, answering list and stop with forged data.
/// </summary>
public static class ControlPaths
{
    /// <summary>Socket file extension.</summary>
    public const string SocketExtension = ".sock";

    /// <summary>The directory mode actorvmm creates and requires: owner only.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The socket file mode: owner read/write (0600).</summary>
    public const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The control directory for this user.</summary>
    public static string Directory()
    {
        string? runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(runtime) && System.IO.Directory.Exists(runtime)
            ? Path.Combine(runtime, "actorvmm")
            : Path.Combine(Path.GetTempPath(), $"actorvmm-{Libc.geteuid()}");
    }

    /// <summary>The socket path of host process <paramref name="processId"/>.</summary>
    public static string SocketFor(int processId) => Path.Combine(Directory(), processId + SocketExtension);

    /// <summary>Creates the control directory with mode 0700, or checks that an existing one is ours and owner-only.</summary>
    /// <exception cref="IOException">It cannot be created, or it exists and is not safe to use (see <see cref="CheckDirectory"/>).</exception>
    public static string EnsureDirectory()
    {
        string dir = Directory();
        if (!UnixFiles.TryLstat(dir, out _, out int errno) && errno == Libc.ENOENT)
        {
            try
            {
                System.IO.Directory.CreateDirectory(dir, DirectoryMode);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"cannot create control directory {dir}: {ex.Message}", ex);
            }
        }

        CheckDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Checks, without following links, that <paramref name="dir"/> is a directory owned by the
    /// effective uid with mode 0700. Once that holds nobody else can add, remove or rename entries
    /// in it, and the sticky /tmp (or the user's own runtime directory) keeps others from renaming
    /// the directory itself, so the check stays true while the host uses it.
    /// </summary>
    /// <exception cref="IOException">Why the directory must not be used, in one line.</exception>
    public static void CheckDirectory(string dir)
    {
        if (!UnixFiles.TryLstat(dir, out var status, out int errno))
        {
            throw new IOException($"control directory {dir}: {Libc.ErrorText(errno)}");
        }

        uint type = UnixFiles.FileType(status);
        if (type == Libc.S_IFLNK)
        {
            throw new IOException($"control directory {dir} is a symbolic link; refusing to use it (remove it, or set XDG_RUNTIME_DIR)");
        }

        if (type != Libc.S_IFDIR)
        {
            throw new IOException($"control directory {dir} is {UnixFiles.Describe(type)}, not a directory; refusing to use it");
        }

        uint me = Libc.geteuid();
        if (status.stx_uid != me)
        {
            throw new IOException($"control directory {dir} is owned by uid {status.stx_uid}, not by you (uid {me}); refusing to use it (remove it, or set XDG_RUNTIME_DIR)");
        }

        uint mode = UnixFiles.Permissions(status);
        if (mode != (uint)DirectoryMode)
        {
            throw new IOException($"control directory {dir} has mode 0{Convert.ToString(mode, 8)}; it must be 0700");
        }
    }

    /// <summary>Sets a socket file's mode to 0600 without following a symbolic link at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">The path is a symbolic link, or the mode cannot be set.</exception>
    public static void SetSocketMode(string path)
    {
        if (Libc.fchmodat(Libc.AT_FDCWD, path, (uint)SocketMode, Libc.AT_SYMLINK_NOFOLLOW) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            bool link = UnixFiles.TryLstat(path, out var status, out _) && UnixFiles.FileType(status) == Libc.S_IFLNK;
            throw new IOException(link
                ? $"control socket {path} is a symbolic link; refusing to change its target's mode"
                : $"cannot set the mode of control socket {path}: {Libc.ErrorText(errno)}");
        }
    }

    /// <summary>The host sockets present now (some may be stale); none when the directory does not exist.</summary>
    /// <exception cref="IOException">The directory exists but is not safe to use (see <see cref="CheckDirectory"/>).</exception>
    public static IReadOnlyList<string> ListSockets()
    {
        string dir = Directory();
        if (!UnixFiles.TryLstat(dir, out _, out int errno) && errno == Libc.ENOENT)
        {
            return [];
        }

        CheckDirectory(dir);
        return [.. System.IO.Directory.GetFiles(dir, "*" + SocketExtension).Order(StringComparer.Ordinal)];
    }
}
