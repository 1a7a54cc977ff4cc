using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>
/// glibc's struct sigaction on x86-64 (not the kernel's): handler, 1024-bit sa_mask, flags,
/// restorer. glibc's sigaction() fills sa_restorer itself.
/// </summary>
[CStruct("sigaction")]
internal unsafe struct sigaction_t
{
    public nint sa_handler;
    public fixed ulong sa_mask[16];
    public int sa_flags;
    public nint sa_restorer;
}

/// <summary>
/// struct epoll_event: packed on x86-64 (__EPOLL_PACKED), so <c>data</c> sits at offset 4. <c>data</c>
/// is the epoll_data_t union, used here as its u64 member (a registration key).
/// </summary>
[CStruct]
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct epoll_event
{
    public uint events;
    public ulong data;
}
