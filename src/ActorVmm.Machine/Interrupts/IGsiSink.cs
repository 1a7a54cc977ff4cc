namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// Where a backend receives the combined level of a GSI: the in-kernel irqchip (KVM_IRQ_LINE) or
/// the userspace 8259. <see cref="GsiSourceTable"/> calls it only when the OR of a GSI's sources
/// changes, one call at a time per GSI, in order.
/// </summary>
public interface IGsiSink
{
    /// <summary>Drives <paramref name="gsi"/> to <paramref name="asserted"/>. Must not block or call back into the table.</summary>
    void SetGsiLevel(int gsi, bool asserted);
}
