using ActorVmm.Kvm.Interop;

namespace ActorVmm.Kvm;

/// <summary>
/// The narrow seam between interrupt routing and doorbells and the kernel: the VM fd's interrupt and
/// eventfd ioctls. The real implementation is <see cref="KvmVmFd"/>; tests substitute a fake that
/// decodes what it is given through the header-checked structs.
/// </summary>
internal interface IKvmVmKernel
{
    /// <summary>KVM_IRQ_LINE: drives a GSI's userspace input to <paramref name="asserted"/>.</summary>
    void SetIrqLine(int gsi, bool asserted);

    /// <summary>KVM_SIGNAL_MSI: returns the kernel's result (&gt; 0 delivered, 0 blocked by the guest).</summary>
    int SignalMsi(in kvm_msi msi);

    /// <summary>KVM_SET_GSI_ROUTING with a struct kvm_irq_routing followed by its entries; replaces the whole table.</summary>
    void SetGsiRouting(ReadOnlySpan<byte> routing);

    /// <summary>KVM_IRQFD (assign or, with KVM_IRQFD_FLAG_DEASSIGN, deassign).</summary>
    void IrqFd(in kvm_irqfd request);

    /// <summary>KVM_IOEVENTFD (assign or, with KVM_IOEVENTFD_FLAG_DEASSIGN, deassign).</summary>
    void IoEventFd(in kvm_ioeventfd request);

    /// <summary>KVM_SET_USER_MEMORY_REGION (a memory_size of 0 deletes the slot).</summary>
    void SetUserMemoryRegion(in kvm_userspace_memory_region region);
}
