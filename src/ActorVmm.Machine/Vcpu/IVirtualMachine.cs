using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;
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

    /// <summary>The VM's address map: RAM slots and reserved windows (<see cref="VmSpec.Layout"/>).</summary>
    MemoryLayout Layout { get; }

    /// <summary>Guest RAM, laid out by <see cref="Layout"/>.</summary>
    GuestMemory Memory { get; }

    /// <summary>The VM's range table (written only by its supervisor once devices exist).</summary>
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
