using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Vcpu;

/// <summary>A virtual machine of either backend: guest RAM, vCPUs, the trap table and interrupt lines.</summary>
public interface IVirtualMachine : IDisposable
{
    /// <summary>The VM's name.</summary>
    string Name { get; }

    /// <summary>The backend name ("kvm" or "emulator").</summary>
    string Backend { get; }

    /// <summary>Guest RAM.</summary>
    GuestMemory Memory { get; }

    /// <summary>The VM's range table, read side. Its one writer is claimed with <see cref="TrapTable.ClaimWriter"/> by the VM's supervisor.</summary>
    TrapTable Traps { get; }

    /// <summary>The dispatcher every vCPU thread calls on I/O and MMIO exits.</summary>
    TrapDispatcher Dispatcher { get; }

    /// <summary>The vCPUs, index = vCPU id.</summary>
    IReadOnlyList<IVcpu> Vcpus { get; }

    /// <summary>True when the 8259 PIC, 8254 PIT and APICs live in the kernel (KVM); userspace PIC/PIT are then not registered.</summary>
    bool HasInKernelIrqchip { get; }

    /// <summary>An interrupt line (GSI/ISA IRQ number) devices raise.</summary>
    IInterruptLine GetInterruptLine(int irq);

    /// <summary>Connects the userspace interrupt controller (the 8259 pair) on backends without an in-kernel irqchip.</summary>
    /// <exception cref="InvalidOperationException">The backend has an in-kernel irqchip.</exception>
    void AttachInterruptController(IInterruptController controller);
}
