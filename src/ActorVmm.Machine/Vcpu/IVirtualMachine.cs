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

    /// <summary>The VM's range table, read side. Its one writer is claimed with <see cref="TrapTable.ClaimWriter"/> by the VM's supervisor.</summary>
    TrapTable Traps { get; }

    /// <summary>The dispatcher every vCPU thread calls on I/O and MMIO exits.</summary>
    TrapDispatcher Dispatcher { get; }

    /// <summary>The vCPUs, index = vCPU id.</summary>
    IReadOnlyList<IVcpu> Vcpus { get; }

    /// <summary>True when the 8259 PIC, 8254 PIT and APICs live in the kernel (KVM); userspace PIC/PIT are then not registered.</summary>
    bool HasInKernelIrqchip { get; }

    /// <summary>Interrupt routing: shared GSIs (each owner drives its own source) and MSIs to the local APICs.</summary>
    IInterruptRouter Interrupts { get; }

    /// <summary>Doorbell notifiers: guest queue kicks that reach a callback without a trap handler on the vCPU thread.</summary>
    IDoorbells Doorbells { get; }

    /// <summary>
    /// The host's own source on GSI <paramref name="irq"/>: <see cref="IInterruptRouter.GetSource"/> with
    /// owner <see cref="GsiSourceTable.HostOwner"/>, the same object on every call. Devices get their own
    /// sources through their device context instead.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="irq"/> is not a GSI of the VM.</exception>
    IInterruptLine GetInterruptLine(int irq);

    /// <summary>Connects the userspace interrupt controller (the 8259 pair) on backends without an in-kernel irqchip.</summary>
    /// <exception cref="InvalidOperationException">The backend has an in-kernel irqchip.</exception>
    void AttachInterruptController(IInterruptController controller);
}
