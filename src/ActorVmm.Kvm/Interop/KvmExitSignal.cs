using System.Runtime.InteropServices;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>
/// The signal that kicks a vCPU thread out of KVM_RUN (together with kvm_run.immediate_exit).
/// <para>
/// Which signal: SIGRTMIN + 4. CoreCLR takes SIGRTMIN itself (its activation-injection signal
/// for GC suspension), the runtime's System.Native layer and PosixSignalRegistration use the
/// classic signals (SIGINT, SIGTERM, SIGCHLD, SIGCONT, SIGWINCH, …), Mono and some native
/// libraries use SIGUSR1/SIGUSR2, and glibc reserves the two real-time signals below SIGRTMIN.
/// kvmtool uses SIGRTMIN itself, which would collide with CoreCLR here.
/// </para>
/// <para>
/// The handler does nothing: its only job is to make the signal "handled" so that the kernel
/// interrupts KVM_RUN with EINTR (an ignored signal would be discarded and never interrupt it).
/// It is installed without SA_RESTART so the interrupted ioctl returns instead of restarting.
/// A managed [UnmanagedCallersOnly] handler is not safe in a signal context (the thread may be
/// in cooperative GC mode), so the handler is a native one-instruction function: a single
/// <c>ret</c> in its own read+execute page.
/// </para>
/// </summary>
internal static class KvmExitSignal
{
    private const int SignalOffsetFromSigrtmin = 4;
    private const byte X86RetInstruction = 0xC3;
    private const nuint StubPageSize = 4096;

    private static readonly Lazy<int> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The signal number, installing the no-op handler on first use.</summary>
    public static int Number => Installed.Value;

    private static unsafe int Install()
    {
        int signal = Libc.__libc_current_sigrtmin() + SignalOffsetFromSigrtmin;
        nint stub = Mman.mmap(0, StubPageSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        if (stub == Mman.MAP_FAILED)
        {
            throw new KvmIoctlException("mmap of the signal handler stub", Marshal.GetLastPInvokeError());
        }

        // Safe: stub is a fresh private page of StubPageSize bytes we just mapped writable.
        *(byte*)stub = X86RetInstruction;
        if (Mman.mprotect(stub, StubPageSize, Mman.PROT_READ | Mman.PROT_EXEC) != 0)
        {
            throw new KvmIoctlException("mprotect of the signal handler stub", Marshal.GetLastPInvokeError());
        }

        // The stub page is never unmapped: the handler must stay valid for the process's life.
        var action = new sigaction_t { sa_handler = stub, sa_flags = 0 };
        if (Libc.sigaction(signal, in action, 0) != 0)
        {
            throw new KvmIoctlException($"sigaction({signal})", Marshal.GetLastPInvokeError());
        }

        return signal;
    }
}
