using ActorVmm.Kvm.Interop;

namespace ActorVmm.Kvm;

/// <summary>
/// The narrow seam between a vCPU's run loop and the kernel: the vCPU fd's ioctls and its mmap.
/// The real implementation is <see cref="KvmVcpuFd"/>; tests drive the run loop with a fake that
/// lays out a kvm_run buffer exactly as the headers say.
/// </summary>
internal interface IKvmVcpuKernel : IDisposable
{
    /// <summary>Start of the vCPU's mapping: struct kvm_run at offset 0.</summary>
    nint RunPage { get; }

    /// <summary>Size of the mapping (KVM_GET_VCPU_MMAP_SIZE); I/O data offsets must stay inside it.</summary>
    int RunPageSize { get; }

    /// <summary>The coalesced MMIO ring inside the mapping, or 0 when the VM has none.</summary>
    nint CoalescedRing { get; }

    /// <summary>Size of the ring's page (ring header plus entries).</summary>
    int CoalescedRingSize { get; }

    /// <summary>KVM_RUN on the calling thread: 0 on an exit to decode, otherwise the errno (EINTR, EAGAIN, …).</summary>
    int Run();

    /// <summary>From any thread: interrupts a KVM_RUN in progress on the vCPU thread (no-op when none is).</summary>
    void Kick();

    /// <summary>KVM_GET_REGS.</summary>
    kvm_regs GetRegs();

    /// <summary>KVM_SET_REGS.</summary>
    void SetRegs(in kvm_regs regs);

    /// <summary>KVM_GET_SREGS.</summary>
    kvm_sregs GetSregs();

    /// <summary>KVM_SET_SREGS.</summary>
    void SetSregs(in kvm_sregs sregs);

    /// <summary>KVM_SET_FPU.</summary>
    void SetFpu(in kvm_fpu fpu);

    /// <summary>KVM_SET_CPUID2.</summary>
    void SetCpuid(ReadOnlySpan<kvm_cpuid_entry2> entries);

    /// <summary>KVM_SET_MSRS; returns how many were set.</summary>
    int SetMsrs(ReadOnlySpan<kvm_msr_entry> entries);

    /// <summary>KVM_GET_LAPIC.</summary>
    kvm_lapic_state GetLapic();

    /// <summary>KVM_SET_LAPIC.</summary>
    void SetLapic(in kvm_lapic_state lapic);

    /// <summary>KVM_GET_MP_STATE: KVM_MP_STATE_RUNNABLE, _HALTED, _UNINITIALIZED, ...</summary>
    uint GetMpState();
}
