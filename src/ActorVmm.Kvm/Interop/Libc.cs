using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>
/// glibc entry points the KVM backend needs (memory mapping is in <see cref="Mman"/>), with C names as in the man pages. Every constant
/// here is compared with the C headers by the header check test (tests/ActorVmm.Kvm.Tests/Interop).
/// </summary>
[CConstants]
internal static partial class Libc
{
    private const string LibName = "libc";

    public const int O_RDWR = 0x2;
    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    public const int EPOLL_CLOEXEC = 0x80000;
    public const uint EPOLLIN = 0x1;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const uint EPOLLONESHOT = 1u << 30;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int ENOENT = 2;
    public const int EACCES = 13;
    public const int EPERM = 1;
    public const int E2BIG = 7;
    public const int ESRCH = 3;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOTTY = 25;
    public const int EIO = 5;

    public const int SA_RESTART = 0x10000000;

    [LibraryImport(LibName, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, SafeFdHandle fd, long offset);

    // open, eventfd and epoll_create1 return a C int: they are declared as int (not SafeHandle, which would
    // read the whole 64-bit register and turn -1 into 0xFFFFFFFF) and wrapped by the caller.
    [LibraryImport(LibName, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int open(string pathname, int flags);

    [LibraryImport(LibName, EntryPoint = "close", SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>
    /// ioctl(2). Declared with one pointer-sized argument: glibc's variadic ioctl reads exactly
    /// one, and on x86-64 an integer or pointer variadic argument travels in the same register.
    /// </summary>
    [LibraryImport(LibName, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(SafeFdHandle fd, nuint request, nint arg);

    [LibraryImport(LibName, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport(LibName, EntryPoint = "read", SetLastError = true)]
    public static partial nint read(SafeFdHandle fd, ref ulong buf, nuint count);

    [LibraryImport(LibName, EntryPoint = "write", SetLastError = true)]
    public static partial nint write(SafeFdHandle fd, in ulong buf, nuint count);

    [LibraryImport(LibName, EntryPoint = "read", SetLastError = true)]
    public static unsafe partial nint read(SafeFdHandle fd, byte* buf, nuint count);

    [LibraryImport(LibName, EntryPoint = "write", SetLastError = true)]
    public static unsafe partial nint write(SafeFdHandle fd, byte* buf, nuint count);

    [LibraryImport(LibName, EntryPoint = "pread", SetLastError = true)]
    public static unsafe partial nint pread(SafeFdHandle fd, byte* buf, nuint count, long offset);

    [LibraryImport(LibName, EntryPoint = "pwrite", SetLastError = true)]
    public static unsafe partial nint pwrite(SafeFdHandle fd, byte* buf, nuint count, long offset);

    [LibraryImport(LibName, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport(LibName, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int epoll_ctl(SafeFdHandle epfd, int op, SafeFdHandle fd, ref epoll_event @event);

    [LibraryImport(LibName, EntryPoint = "epoll_wait", SetLastError = true)]
    public static unsafe partial int epoll_wait(SafeFdHandle epfd, epoll_event* events, int maxevents, int timeout);

    [LibraryImport(LibName, EntryPoint = "pthread_self")]
    public static partial nuint pthread_self();

    /// <summary>pthread_kill(3): returns an error number (0 on success); errno is not used.</summary>
    [LibraryImport(LibName, EntryPoint = "pthread_kill")]
    public static partial int pthread_kill(nuint thread, int sig);

    [LibraryImport(LibName, EntryPoint = "sigaction", SetLastError = true)]
    public static partial int sigaction(int signum, in sigaction_t act, nint oldact);

    /// <summary>The first real-time signal number glibc leaves to applications (SIGRTMIN).</summary>
    [LibraryImport(LibName, EntryPoint = "__libc_current_sigrtmin")]
    public static partial int __libc_current_sigrtmin();
}
