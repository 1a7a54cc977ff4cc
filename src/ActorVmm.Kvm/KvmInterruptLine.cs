using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Kvm;

/// <summary>An interrupt line into the in-kernel irqchip (8259 pair + IOAPIC) via KVM_IRQ_LINE.</summary>
internal sealed class KvmInterruptLine(SafeFdHandle vmFd, int irq) : IInterruptLine
{
    /// <inheritdoc />
    public int Irq { get; } = irq;

    /// <inheritdoc />
    public void SetLevel(bool asserted)
    {
        var level = new kvm_irq_level { irq = (uint)Irq, level = asserted ? 1u : 0u };
        KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_IRQ_LINE, ref level, nameof(KvmIoctls.KVM_IRQ_LINE));
    }

    /// <inheritdoc />
    public void Pulse()
    {
        SetLevel(true);
        SetLevel(false);
    }
}
