using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm;

/// <summary>The real <see cref="IKvmVcpuKernel"/>: a vCPU fd from KVM_CREATE_VCPU and its kvm_run mapping.</summary>
internal sealed class KvmVcpuFd : IKvmVcpuKernel
{
    private const int PageSize = 4096;

    private readonly SafeFdHandle _fd;
    private readonly Lock _kickLock = new();
    private nuint _threadInRun;
    private nint _runPage;

    /// <summary>Maps kvm_run (and the coalesced ring at <paramref name="coalescedPageOffset"/> pages, 0 = none).</summary>
    public KvmVcpuFd(SafeFdHandle fd, int mmapSize, int coalescedPageOffset)
    {
        _fd = fd;
        nint page = Libc.mmap(0, (nuint)mmapSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        if (page == Mman.MAP_FAILED)
        {
            throw new KvmIoctlException("mmap of kvm_run", Marshal.GetLastPInvokeError());
        }

        _runPage = page;
        RunPageSize = mmapSize;
        if (coalescedPageOffset > 0 && (coalescedPageOffset + 1) * PageSize <= mmapSize)
        {
            CoalescedRing = page + (coalescedPageOffset * PageSize);
            CoalescedRingSize = PageSize;
        }

        _ = KvmExitSignal.Number;
    }

    /// <inheritdoc />
    public nint RunPage => _runPage != 0 ? _runPage : throw new ObjectDisposedException(nameof(KvmVcpuFd));

    /// <inheritdoc />
    public int RunPageSize { get; }

    /// <inheritdoc />
    public nint CoalescedRing { get; }

    /// <inheritdoc />
    public int CoalescedRingSize { get; }

    /// <inheritdoc />
    public int Run()
    {
        lock (_kickLock)
        {
            _threadInRun = Libc.pthread_self();
        }

        int rc = Libc.ioctl(_fd, KvmIoctls.KVM_RUN, 0);
        int errno = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        lock (_kickLock)
        {
            _threadInRun = 0;
        }

        return errno;
    }

    /// <inheritdoc />
    public void Kick()
    {
        // Under the lock the thread is between its two lock sections, so it is alive; if it has
        // already left the ioctl the no-op handler just runs once (immediate_exit still applies).
        lock (_kickLock)
        {
            if (_threadInRun != 0)
            {
                _ = Libc.pthread_kill(_threadInRun, KvmExitSignal.Number);
            }
        }
    }

    /// <inheritdoc />
    public kvm_regs GetRegs()
    {
        var regs = default(kvm_regs);
        KvmCalls.Ioctl(_fd, KvmIoctls.KVM_GET_REGS, ref regs, nameof(KvmIoctls.KVM_GET_REGS));
        return regs;
    }

    /// <inheritdoc />
    public void SetRegs(in kvm_regs regs)
    {
        var copy = regs;
        KvmCalls.Ioctl(_fd, KvmIoctls.KVM_SET_REGS, ref copy, nameof(KvmIoctls.KVM_SET_REGS));
    }

    /// <inheritdoc />
    public kvm_sregs GetSregs()
    {
        var sregs = default(kvm_sregs);
        KvmCalls.Ioctl(_fd, KvmIoctls.KVM_GET_SREGS, ref sregs, nameof(KvmIoctls.KVM_GET_SREGS));
        return sregs;
    }

    /// <inheritdoc />
    public void SetSregs(in kvm_sregs sregs)
    {
        var copy = sregs;
        KvmCalls.Ioctl(_fd, KvmIoctls.KVM_SET_SREGS, ref copy, nameof(KvmIoctls.KVM_SET_SREGS));
    }

    /// <inheritdoc />
    public void SetFpu(in kvm_fpu fpu)
    {
        var copy = fpu;
        KvmCalls.Ioctl(_fd, KvmIoctls.KVM_SET_FPU, ref copy, nameof(KvmIoctls.KVM_SET_FPU));
    }

    /// <inheritdoc />
    public void SetCpuid(ReadOnlySpan<kvm_cpuid_entry2> entries)
    {
        byte[] buffer = new byte[KvmVariableLength.Size<kvm_cpuid2, kvm_cpuid_entry2>(entries.Length)];
        MemoryMarshal.Write(buffer, new kvm_cpuid2 { nent = (uint)entries.Length });
        MemoryMarshal.AsBytes(entries).CopyTo(buffer.AsSpan(Marshal.SizeOf<kvm_cpuid2>()));
        KvmCalls.Ioctl(_fd, KvmIoctls.KVM_SET_CPUID2, buffer, nameof(KvmIoctls.KVM_SET_CPUID2));
    }

    /// <inheritdoc />
    public int SetMsrs(ReadOnlySpan<kvm_msr_entry> entries)
    {
        byte[] buffer = new byte[KvmVariableLength.Size<kvm_msrs, kvm_msr_entry>(entries.Length)];
        MemoryMarshal.Write(buffer, new kvm_msrs { nmsrs = (uint)entries.Length });
        MemoryMarshal.AsBytes(entries).CopyTo(buffer.AsSpan(Marshal.SizeOf<kvm_msrs>()));
        return KvmCalls.Ioctl(_fd, KvmIoctls.KVM_SET_MSRS, buffer, nameof(KvmIoctls.KVM_SET_MSRS));
    }

    /// <inheritdoc />
    public kvm_lapic_state GetLapic()
    {
        var lapic = default(kvm_lapic_state);
        KvmCalls.Ioctl(_fd, KvmIoctls.KVM_GET_LAPIC, ref lapic, nameof(KvmIoctls.KVM_GET_LAPIC));
        return lapic;
    }

    /// <inheritdoc />
    public void SetLapic(in kvm_lapic_state lapic)
    {
        var copy = lapic;
        KvmCalls.Ioctl(_fd, KvmIoctls.KVM_SET_LAPIC, ref copy, nameof(KvmIoctls.KVM_SET_LAPIC));
    }

    /// <inheritdoc />
    public uint GetMpState()
    {
        var state = default(kvm_mp_state);
        KvmCalls.Ioctl(_fd, KvmIoctls.KVM_GET_MP_STATE, ref state, nameof(KvmIoctls.KVM_GET_MP_STATE));
        return state.mp_state;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        nint page = Interlocked.Exchange(ref _runPage, 0);
        if (page != 0)
        {
            _ = Mman.munmap(page, (nuint)RunPageSize);
        }

        _fd.Dispose();
    }
}
