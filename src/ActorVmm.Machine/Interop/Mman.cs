using System.Runtime.InteropServices;

namespace ActorVmm.Machine.Interop;

/// <summary>
/// sys/mman.h: the glibc entry points and constants guest RAM (and the KVM backend's run pages) are
/// mapped with, C names as in the man pages. The header check test compares every constant with the C
/// headers (tests/ActorVmm.Kvm.Tests/Interop).
/// </summary>
[CConstants]
internal static partial class Mman
{
    private const string LibName = "libc";

    public const int PROT_NONE = 0x0;
    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int PROT_EXEC = 0x4;
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_NORESERVE = 0x4000;
    public static readonly nint MAP_FAILED = -1;

    [LibraryImport(LibName, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(LibName, EntryPoint = "munmap", SetLastError = true)]
    public static partial int munmap(nint addr, nuint length);

    [LibraryImport(LibName, EntryPoint = "mprotect", SetLastError = true)]
    public static partial int mprotect(nint addr, nuint length, int prot);
}
