using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ActorVmm.Host.Interop;

/// <summary>
/// File checks that must neither block nor follow links, over <see cref="Libc"/>: .NET's File APIs
/// open a FIFO blockingly, cannot tell a FIFO or a device from a regular file, and follow symbolic
/// links. Failures come back as errno values for the caller's one-line message.
/// </summary>
internal static class UnixFiles
{
    /// <summary>Opens <paramref name="path"/> (O_CLOEXEC added); an invalid handle and the errno on failure.</summary>
    public static SafeFileHandle Open(string path, int flags, uint mode, out int errno)
    {
        int fd = Libc.open(path, flags | Libc.O_CLOEXEC, mode);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>fstat of an open file.</summary>
    /// <exception cref="IOException">statx failed.</exception>
    public static Libc.statx Stat(SafeFileHandle file)
    {
        if (Libc.statx_fd(file, string.Empty, Libc.AT_EMPTY_PATH, Libc.STATX_BASIC_STATS, out var status) != 0)
        {
            throw new IOException($"statx failed: {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        return status;
    }

    /// <summary>lstat of a path: a symbolic link is reported as itself, never followed.</summary>
    public static bool TryLstat(string path, out Libc.statx status, out int errno)
    {
        bool ok = Libc.statx_at(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, out status) == 0;
        errno = ok ? 0 : Marshal.GetLastPInvokeError();
        return ok;
    }

    /// <summary>The S_IFMT bits of a status.</summary>
    public static uint FileType(in Libc.statx status) => status.stx_mode & Libc.S_IFMT;

    /// <summary>The permission bits (07777) of a status.</summary>
    public static uint Permissions(in Libc.statx status) => status.stx_mode & 0xFFFu;

    /// <summary>True when the open file lives on procfs or sysfs, whose files are kernel interfaces, not storage.</summary>
    public static bool IsOnKernelFileSystem(SafeFileHandle file) =>
        Libc.fstatfs(file, out var fs) == 0 && fs.f_type is Libc.PROC_SUPER_MAGIC or Libc.SYSFS_MAGIC;

    /// <summary>A file type for messages: "a FIFO", "a character device", ...</summary>
    public static string Describe(uint fileType) => fileType switch
    {
        Libc.S_IFREG => "a regular file",
        Libc.S_IFDIR => "a directory",
        Libc.S_IFLNK => "a symbolic link",
        Libc.S_IFIFO => "a FIFO",
        Libc.S_IFCHR => "a character device",
        Libc.S_IFBLK => "a block device",
        Libc.S_IFSOCK => "a socket",
        _ => "a special file",
    };
}
