using ActorVmm.Kvm.Interop;

namespace ActorVmm.Kvm;

/// <summary>The real <see cref="IKvmVmKernel"/>: ioctls on the VM fd (owned by <see cref="KvmVm"/>).</summary>
internal sealed class KvmVmFd(SafeFdHandle vmFd) : IKvmVmKernel
{
    /// <inheritdoc />
    public void SetIrqLine(int gsi, bool asserted)
    {
        var level = new kvm_irq_level { irq = (uint)gsi, level = asserted ? 1u : 0u };
        KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_IRQ_LINE, ref level, nameof(KvmIoctls.KVM_IRQ_LINE));
    }

    /// <inheritdoc />
    public int SignalMsi(in kvm_msi msi)
    {
        var request = msi;
        return KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_SIGNAL_MSI, ref request, nameof(KvmIoctls.KVM_SIGNAL_MSI));
    }

    /// <inheritdoc />
    public void SetGsiRouting(ReadOnlySpan<byte> routing)
    {
        // The ioctl takes a non-const pointer; the kernel only reads the table.
        byte[] copy = routing.ToArray();
        KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_SET_GSI_ROUTING, copy.AsSpan(), nameof(KvmIoctls.KVM_SET_GSI_ROUTING));
    }

    /// <inheritdoc />
    public void IrqFd(in kvm_irqfd request)
    {
        var copy = request;
        KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_IRQFD, ref copy, nameof(KvmIoctls.KVM_IRQFD));
    }

    /// <inheritdoc />
    public void IoEventFd(in kvm_ioeventfd request)
    {
        var copy = request;
        KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_IOEVENTFD, ref copy, nameof(KvmIoctls.KVM_IOEVENTFD));
    }

    /// <inheritdoc />
    public void SetUserMemoryRegion(in kvm_userspace_memory_region region)
    {
        var copy = region;
        KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, ref copy, nameof(KvmIoctls.KVM_SET_USER_MEMORY_REGION));
    }
}
