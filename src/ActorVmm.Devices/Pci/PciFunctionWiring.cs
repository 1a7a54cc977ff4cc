using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The host-side connections of one function (the seams the machine layer binds): a placement per BAR, the INTx
/// source its pin is swizzled to, the interrupt line value firmware would have programmed, and the MSI-X vectors.
/// </summary>
/// <param name="Bars">The placement of the BAR with a given register index; called once per BAR at construction.</param>
public sealed record PciFunctionWiring(Func<int, IBarPlacement> Bars)
{
    /// <summary>Wiring for a function with no BARs and no interrupts (the host bridge).</summary>
    public static PciFunctionWiring None { get; } = new(index => throw new ArgumentException($"no placement wired for BAR {index}"));

    /// <summary>
    /// The function's own source on the shared level-triggered line its pin is swizzled to (the GSI's level is the OR
    /// of its sources); required when the function has an interrupt pin. Driven with <see cref="IInterruptLine.SetLevel"/>
    /// only when the function's effective level changes, under its lock.
    /// </summary>
    public IInterruptLine? Intx { get; init; }

    /// <summary>Power-on interrupt line register: the IRQ the platform routes the pin to (as firmware writes it), else 0xFF.</summary>
    public byte InterruptLine { get; init; } = PciHeader.InterruptLineNone;

    /// <summary>
    /// Called with (offset, size) after each guest configuration write has been applied (placements and INTx already
    /// followed), under the function's lock on the writing vCPU: a passthrough device mirrors what it must into the
    /// real device (command bits, MSI) here. Null for emulated functions.
    /// </summary>
    public Action<int, int>? ConfigWritten { get; init; }

    /// <summary>The delivery of MSI-X vector n, required when the function has MSI-X; called once per vector at construction.</summary>
    public Func<int, IMsiVector>? MsiVectors { get; init; }
}
