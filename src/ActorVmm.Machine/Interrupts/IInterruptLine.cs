namespace ActorVmm.Machine.Interrupts;

/// <summary>One interrupt input of the VM's interrupt controller, as a device sees it.</summary>
public interface IInterruptLine
{
    /// <summary>The IRQ (GSI) number.</summary>
    int Irq { get; }

    /// <summary>Drives the line high (asserted) or low. Level-triggered devices hold it high until serviced.</summary>
    void SetLevel(bool asserted);

    /// <summary>An edge: high then low, for edge-triggered devices.</summary>
    void Pulse();
}

/// <summary>
/// The userspace interrupt controller (8259A pair) used where the backend has none in the kernel.
/// Interrupt lines feed it; the emulator asks it whether an interrupt is pending and which vector.
/// </summary>
public interface IInterruptController
{
    /// <summary>Sets the level of an input line.</summary>
    void SetIrqLevel(int irq, bool asserted);

    /// <summary>True while the controller's INTR output to the boot vCPU is asserted.</summary>
    bool HasPendingInterrupt { get; }

    /// <summary>The INTA cycle: returns the vector of the highest-priority pending interrupt and marks it in service.</summary>
    bool TryAcknowledge(out byte vector);

    /// <summary>Raised when INTR becomes asserted, so a halted vCPU can wake. Must not block.</summary>
    event Action? InterruptRequested;
}
