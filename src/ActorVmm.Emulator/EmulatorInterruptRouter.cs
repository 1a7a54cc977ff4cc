using ActorVmm.Emulator.Apic;
using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Emulator;

/// <summary>
/// Interrupt routing of an emulated VM: GSIs through the wired-OR table into the attached userspace
/// 8259 (no IOAPIC: GSIs 16–23 exist for parity with KVM and reach no controller), MSIs straight
/// into the addressed vCPUs' local APICs, waking a halted vCPU.
/// </summary>
internal sealed class EmulatorInterruptRouter : IInterruptRouter, IGsiSink
{
    private readonly EmulatorMachine _machine;
    private readonly Action<int> _wake;
    private readonly GsiSourceTable _gsis;
    private long _droppedIrqChanges;
    private long _droppedMsis;

    /// <param name="machine">The VM's shared state (local APICs, the attached 8259).</param>
    /// <param name="wake">Wakes vCPU n from a halt.</param>
    /// <param name="gsiCount">Number of GSIs.</param>
    public EmulatorInterruptRouter(EmulatorMachine machine, Action<int> wake, int gsiCount)
    {
        _machine = machine;
        _wake = wake;
        _gsis = new GsiSourceTable(gsiCount, this);
    }

    /// <inheritdoc />
    public int GsiCount => _gsis.GsiCount;

    /// <summary>GSI level changes dropped because no interrupt controller was attached yet.</summary>
    public long DroppedIrqChanges => Interlocked.Read(ref _droppedIrqChanges);

    /// <summary>MSIs that reached no local APIC (bad address, unmodelled delivery mode, no destination, APIC disabled).</summary>
    public long DroppedMsis => Interlocked.Read(ref _droppedMsis);

    /// <inheritdoc />
    public IInterruptLine GetSource(int gsi, string owner) => _gsis.GetSource(gsi, owner);

    /// <inheritdoc />
    public bool IsAsserted(int gsi) => _gsis.IsAsserted(gsi);

    /// <inheritdoc />
    public void SetGsiLevel(int gsi, bool asserted)
    {
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

    /// <summary>
    /// Delivers a message as the APIC bus would: fixed and lowest-priority delivery (the latter to the
    /// first addressed APIC), physical (0xFF = all) or logical destination. Edge semantics only.
    /// </summary>
    internal bool Deliver(MsiMessage message)
    {
        var mode = message.DeliveryMode;
        if (!message.IsInterruptAddress || mode is not (MsiDeliveryMode.Fixed or MsiDeliveryMode.LowestPriority))
        {
            Interlocked.Increment(ref _droppedMsis);
            return false;
        }

        bool delivered = false;
        foreach (var apic in _machine.Apics)
        {
            if (!Addresses(message, apic) || !apic.AcceptFixed(message.Vector))
            {
                continue;
            }

            delivered = true;
            _wake(apic.Id);
            if (mode == MsiDeliveryMode.LowestPriority)
            {
                break;
            }
        }

        if (!delivered)
        {
            Interlocked.Increment(ref _droppedMsis);
        }

        return delivered;
    }

    private static bool Addresses(MsiMessage message, LocalApic apic) =>
        message.IsLogicalDestination
            ? apic.MatchesLogical(message.DestinationId)
            : message.DestinationId == MsiMessage.BroadcastDestination || message.DestinationId == apic.Id;
}
