namespace ActorVmm.Host.Control;

/// <summary>
/// Where control sockets live: <c>$XDG_RUNTIME_DIR/actorvmm</c> (per-user, created by the login
/// manager with mode 0700), else <c>/tmp/actorvmm-UID</c>; one socket per host process, named by its pid.
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
            : Path.Combine(Path.GetTempPath(), $"actorvmm-{Interop.Libc.geteuid()}");
    }

    /// <summary>The socket path of host process <paramref name="processId"/>.</summary>
    public static string SocketFor(int processId) => Path.Combine(Directory(), processId + SocketExtension);

    /// <summary>Creates the control directory with mode 0700, or checks an existing one is owner-only.</summary>
    /// <exception cref="IOException">The directory exists with a mode other users could use.</exception>
    public static string EnsureDirectory()
    {
        string dir = Directory();
        if (!System.IO.Directory.Exists(dir))
        {
            System.IO.Directory.CreateDirectory(dir, DirectoryMode);
        }

        var mode = File.GetUnixFileMode(dir);
        if ((mode & ~DirectoryMode) != 0)
        {
            throw new IOException($"control directory {dir} has mode {Convert.ToString((int)mode, 8)}; it must be 0700");
        }

        return dir;
    }

    /// <summary>The host sockets present now (some may be stale).</summary>
    public static IReadOnlyList<string> ListSockets()
    {
        string dir = Directory();
        return System.IO.Directory.Exists(dir)
            ? [.. System.IO.Directory.GetFiles(dir, "*" + SocketExtension).Order(StringComparer.Ordinal)]
            : [];
    }
}
