using System.Runtime.InteropServices;

namespace ActorVmm.Host.Interop;

// C struct names are kept exactly as in <termios.h> and <sys/socket.h> (interop convention).
#pragma warning disable CS8981

/// <summary>glibc entry points the host needs (terminal modes, user identity), with C names as in the man pages.</summary>
internal static partial class Libc
{
    private const string LibName = "libc";

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
}
#pragma warning restore CS8981
