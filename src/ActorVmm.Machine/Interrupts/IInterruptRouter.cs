namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// A VM's interrupt routing, the same on both backends: shared GSIs (pin interrupts into the
/// 8259/IOAPIC) and x86 MSIs to local APICs. The KVM backend routes into the in-kernel irqchip
/// (KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING + KVM_IRQFD); the emulator into the
/// userspace 8259 and its per-vCPU local APICs.
/// </summary>
public interface IInterruptRouter
{
    /// <summary>Number of GSIs, numbered from 0 (24 on both backends: the in-kernel IOAPIC's pins; 0–15 also reach the 8259 pair).</summary>
    int GsiCount { get; }

    /// <summary>
    /// <paramref name="owner"/>'s own source on <paramref name="gsi"/>; the GSI's level is the OR of its
    /// sources (<see cref="GsiSourceTable"/>). The same owner always gets the same source back.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gsi"/> is not below <see cref="GsiCount"/>.</exception>
    IInterruptLine GetSource(int gsi, string owner);

    /// <summary>True while any source of <paramref name="gsi"/> is asserted.</summary>
    bool IsAsserted(int gsi);

    /// <summary>
    /// Delivers one MSI now (KVM_SIGNAL_MSI on KVM). Returns false when it reached no local APIC:
    /// an address outside the interrupt window, no matching destination, a software-disabled APIC,
    /// or a delivery mode the backend does not model.
    /// </summary>
    bool SignalMsi(MsiMessage message);

    /// <summary>Creates a reprogrammable MSI route (on KVM: a GSI routing entry and an irqfd).</summary>
    /// <exception cref="InvalidOperationException">The backend's routes are used up.</exception>
    IMsiRoute CreateMsiRoute(MsiMessage message);
}
