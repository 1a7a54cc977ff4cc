using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Emulator;

/// <summary>
/// Interrupt routing of an emulated VM, wired as a PC chipset: GSIs through the wired-OR table into both the attached
/// userspace 8259 (IRQs 0–15) and the IOAPIC (pin = GSI), and PCI's PIRQA–D lines, which reach the 8259 on IRQs 5, 9,
/// 10 and 11 (<see cref="PciIntxSwizzle.PicIrqs"/>), also to IOAPIC pins 16–19 as the MP table says; MSIs straight
/// into the addressed vCPUs' local APICs, waking a halted vCPU.
/// </summary>
internal sealed class EmulatorInterruptRouter : IInterruptRouter, IGsiSink
{
    private readonly EmulatorMachine _machine;
    private readonly GsiSourceTable _gsis;
    private long _droppedIrqChanges;

    /// <param name="machine">The VM's shared state (the APIC bus, the attached 8259).</param>
    /// <param name="gsiCount">Number of GSIs.</param>
    public EmulatorInterruptRouter(EmulatorMachine machine, int gsiCount)
    {
        _machine = machine;
        _gsis = new GsiSourceTable(gsiCount, this);
    }

    /// <inheritdoc />
    public int GsiCount => _gsis.GsiCount;

    /// <summary>GSI level changes that reached no 8259 because none was attached yet (the IOAPIC saw them).</summary>
    public long DroppedIrqChanges => Interlocked.Read(ref _droppedIrqChanges);

    /// <summary>MSIs, IOAPIC messages and IPIs that reached no local APIC (bad address, unmodelled delivery mode, no destination, APIC disabled).</summary>
    public long DroppedMsis => _machine.Bus.DroppedMessages;

    /// <inheritdoc />
    public IInterruptLine GetSource(int gsi, string owner) => _gsis.GetSource(gsi, owner);

    /// <inheritdoc />
    public bool IsAsserted(int gsi) => _gsis.IsAsserted(gsi);

    /// <inheritdoc />
    public void SetGsiLevel(int gsi, bool asserted)
    {
        _machine.Bus.SetIoApicPin(gsi, asserted);
        for (int pirq = 0; pirq < PciIntxSwizzle.PicIrqs.Count; pirq++)
        {
            if (PciIntxSwizzle.PicIrqs[pirq] == gsi)
            {
                _machine.Bus.SetIoApicPin(PciIntxSwizzle.FirstGsi + pirq, asserted);
            }
        }

        var controller = _machine.Controller;
        if (controller is null)
        {
            Interlocked.Increment(ref _droppedIrqChanges);
            return;
        }

        controller.SetIrqLevel(gsi, asserted);
    }

    /// <inheritdoc />
    public bool SignalMsi(MsiMessage message) => Deliver(message);

    /// <inheritdoc />
    public IMsiRoute CreateMsiRoute(MsiMessage message) => new EmulatorMsiRoute(this, message);

    /// <summary>Delivers a message as the APIC bus would (see <see cref="Apic.ApicBus"/>).</summary>
    internal bool Deliver(MsiMessage message) => _machine.Bus.Deliver(message);
}
