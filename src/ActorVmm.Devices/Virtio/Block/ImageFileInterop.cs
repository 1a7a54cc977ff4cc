using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ActorVmm.Devices.Virtio.Block;

// C names are kept exactly as in <fcntl.h>, <sys/file.h>, <unistd.h> and <errno.h> (interop convention).

/// <summary>The glibc calls a raw disk image needs: open without .NET's own advisory lock, flock and fdatasync.</summary>
internal static partial class ImageFileInterop
{
    /// <summary>open: read only.</summary>
    public const int O_RDONLY = 0;

    /// <summary>open: read and write.</summary>
    public const int O_RDWR = 2;

    /// <summary>open: close the descriptor in exec'd children (asm-generic/fcntl.h, the same on x86-64 and arm64).</summary>
    public const int O_CLOEXEC = 0x80000;

    /// <summary>flock: shared lock (readers).</summary>
    public const int LOCK_SH = 1;

    /// <summary>flock: exclusive lock (a writer).</summary>
    public const int LOCK_EX = 2;

    /// <summary>flock: fail instead of waiting when the lock is held.</summary>
    public const int LOCK_NB = 4;

    /// <summary>errno: no such file.</summary>
    public const int ENOENT = 2;

    /// <summary>errno: permission denied.</summary>
    public const int EACCES = 13;

    /// <summary>errno: the lock is held (EWOULDBLOCK is EAGAIN on Linux).</summary>
    public const int EWOULDBLOCK = 11;

    private const string LibName = "libc";

    [LibraryImport(LibName, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string pathname, int flags);

    [LibraryImport(LibName, EntryPoint = "flock", SetLastError = true)]
    public static partial int flock(SafeFileHandle fd, int operation);

    [LibraryImport(LibName, EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int fdatasync(SafeFileHandle fd);
}
