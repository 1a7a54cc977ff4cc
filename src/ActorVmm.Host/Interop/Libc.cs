using System.Runtime.InteropServices;

namespace ActorVmm.Host.Interop;

// C struct names are kept exactly as in <termios.h>, <sys/socket.h> and <linux/stat.h> (interop convention).
#pragma warning disable CS8981

/// <summary>
/// glibc entry points the host needs (terminal modes, user identity, file checks that must not block
/// or follow links, advisory locks), with C names as in the man pages. Values are the Linux ones;
/// tests/ActorVmm.Host.Tests/Interop compares them with the C headers.
/// </summary>
internal static partial class Libc
{
    private const string LibName = "libc";

    /// <summary>errno EWOULDBLOCK (= EAGAIN): a non-blocking lock is held elsewhere.</summary>
    public const int EWOULDBLOCK = 11;

    /// <summary>errno ENOENT: no such file or directory.</summary>
    public const int ENOENT = 2;

    /// <summary>errno ENXIO: a FIFO opened for writing without blocking has no reader.</summary>
    public const int ENXIO = 6;

    /// <summary>errno EISDIR: a directory opened for writing.</summary>
    public const int EISDIR = 21;

    /// <summary>open: read only.</summary>
    public const int O_RDONLY = 0x0;

    /// <summary>open: write only.</summary>
    public const int O_WRONLY = 0x1;

    /// <summary>open: read and write.</summary>
    public const int O_RDWR = 0x2;

    /// <summary>open: create the file when missing.</summary>
    public const int O_CREAT = 0x40;

    /// <summary>open: with O_CREAT, fail when the file exists.</summary>
    public const int O_EXCL = 0x80;

    /// <summary>open: a terminal does not become the controlling terminal.</summary>
    public const int O_NOCTTY = 0x100;

    /// <summary>open: writes append.</summary>
    public const int O_APPEND = 0x400;

    /// <summary>open: do not block (a FIFO without a peer opens at once or fails instead of waiting).</summary>
    public const int O_NONBLOCK = 0x800;

    /// <summary>open: close on exec.</summary>
    public const int O_CLOEXEC = 0x80000;

    /// <summary>open: fail (ELOOP) when the last path component is a symbolic link (arm64 numbers it differently from x86-64).</summary>
    public static int O_NOFOLLOW => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>*at calls: relative paths are relative to the working directory.</summary>
    public const int AT_FDCWD = -100;

    /// <summary>*at calls: do not follow a symbolic link in the last component (lstat semantics).</summary>
    public const int AT_SYMLINK_NOFOLLOW = 0x100;

    /// <summary>statx: an empty path means the descriptor itself (fstat semantics).</summary>
    public const int AT_EMPTY_PATH = 0x1000;

    /// <summary>statx mask: the file type and mode, uid, inode number and size (STATX_BASIC_STATS covers them).</summary>
    public const uint STATX_BASIC_STATS = 0x7ff;

    /// <summary>st_mode: the file type bits.</summary>
    public const uint S_IFMT = 0xF000;

    /// <summary>st_mode type: FIFO.</summary>
    public const uint S_IFIFO = 0x1000;

    /// <summary>st_mode type: character device.</summary>
    public const uint S_IFCHR = 0x2000;

    /// <summary>st_mode type: directory.</summary>
    public const uint S_IFDIR = 0x4000;

    /// <summary>st_mode type: block device.</summary>
    public const uint S_IFBLK = 0x6000;

    /// <summary>st_mode type: regular file.</summary>
    public const uint S_IFREG = 0x8000;

    /// <summary>st_mode type: symbolic link.</summary>
    public const uint S_IFLNK = 0xA000;

    /// <summary>st_mode type: socket.</summary>
    public const uint S_IFSOCK = 0xC000;

    /// <summary>statfs f_type of procfs (PROC_SUPER_MAGIC, linux/magic.h).</summary>
    public const long PROC_SUPER_MAGIC = 0x9fa0;

    /// <summary>statfs f_type of sysfs (SYSFS_MAGIC, linux/magic.h).</summary>
    public const long SYSFS_MAGIC = 0x62656572;

    /// <summary>flock: exclusive lock.</summary>
    public const int LOCK_EX = 2;

    /// <summary>flock: fail with EWOULDBLOCK instead of waiting.</summary>
    public const int LOCK_NB = 4;

    /// <summary>SOL_SOCKET from asm-generic/socket.h.</summary>
    public const int SOL_SOCKET = 1;

    /// <summary>SO_PEERCRED from asm-generic/socket.h: the peer's struct ucred.</summary>
    public const int SO_PEERCRED = 17;

    /// <summary>EPIPE from asm-generic/errno-base.h: write to a pipe with no reader (.NET reports it as an IOException's HResult).</summary>
    public const int EPIPE = 32;

    /// <summary>tcsetattr: apply the change now.</summary>
    public const int TCSANOW = 0;

    /// <summary>c_lflag bit: generate SIGINT/SIGQUIT/SIGTSTP from the terminal's special characters.</summary>
    public const uint ISIG = 0x1;

    /// <summary>c_oflag bit: post-process output (turn "\n" into "\r\n").</summary>
    public const uint OPOST = 0x1;

    /// <summary>struct termios on Linux (glibc, all architectures .NET runs on): 4 flags, c_line, 32 c_cc, 2 speeds.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct termios
    {
        public uint c_iflag;
        public uint c_oflag;
        public uint c_cflag;
        public uint c_lflag;
        public byte c_line;
        public fixed byte c_cc[32];
        public uint c_ispeed;
        public uint c_ospeed;
    }

    /// <summary>struct ucred (SO_PEERCRED).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ucred
    {
        public int pid;
        public uint uid;
        public uint gid;
    }

    /// <summary>struct statx from linux/stat.h (the same layout on every architecture, unlike struct stat); only the fields the host reads are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct statx
    {
        [FieldOffset(0)]
        public uint stx_mask;

        [FieldOffset(20)]
        public uint stx_uid;

        [FieldOffset(28)]
        public ushort stx_mode;

        [FieldOffset(32)]
        public ulong stx_ino;

        [FieldOffset(40)]
        public ulong stx_size;

        [FieldOffset(136)]
        public uint stx_dev_major;

        [FieldOffset(140)]
        public uint stx_dev_minor;
    }

    /// <summary>struct statfs (x86-64 and arm64 glibc: 120 bytes, f_type first); only f_type is read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 120)]
    public struct statfs
    {
        [FieldOffset(0)]
        public long f_type;
    }

    [LibraryImport(LibName, EntryPoint = "isatty")]
    public static partial int isatty(int fd);

    [LibraryImport(LibName, EntryPoint = "tcgetattr", SetLastError = true)]
    public static partial int tcgetattr(int fd, out termios termios_p);

    [LibraryImport(LibName, EntryPoint = "tcsetattr", SetLastError = true)]
    public static partial int tcsetattr(int fd, int optional_actions, in termios termios_p);

    [LibraryImport(LibName, EntryPoint = "cfmakeraw")]
    public static partial void cfmakeraw(ref termios termios_p);

    [LibraryImport(LibName, EntryPoint = "geteuid")]
    public static partial uint geteuid();

    [LibraryImport(LibName, EntryPoint = "write", SetLastError = true)]
    public static partial nint write(int fd, ReadOnlySpan<byte> buf, nuint count);

    [LibraryImport(LibName, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int open(string pathname, int flags, uint mode);

    // statx(2) twice, by directory descriptor number (AT_FDCWD) and by open file; C# cannot name a method like the struct.
    [LibraryImport(LibName, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int statx_at(int dirfd, string pathname, int flags, uint mask, out statx statxbuf);

    [LibraryImport(LibName, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int statx_fd(SafeHandle dirfd, string pathname, int flags, uint mask, out statx statxbuf);

    [LibraryImport(LibName, EntryPoint = "fchmodat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int fchmodat(int dirfd, string pathname, uint mode, int flags);

    [LibraryImport(LibName, EntryPoint = "fstatfs", SetLastError = true)]
    public static partial int fstatfs(SafeHandle fd, out statfs buf);

    [LibraryImport(LibName, EntryPoint = "flock", SetLastError = true)]
    public static partial int flock(SafeHandle fd, int operation);

    /// <summary>The text of an errno value, as strerror gives it.</summary>
    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
#pragma warning restore CS8981
