using ActorVmm.Devices.IoApic;
using ActorVmm.Emulator.Time;
using ActorVmm.Machine.Interrupts;
using static ActorVmm.Machine.Interrupts.LocalApicRegisters;

namespace ActorVmm.Emulator.Apic;

/// <summary>
/// The emulated VM's interrupt fabric in place of KVM's in-kernel irqchip: every vCPU's local APIC, the I/O APIC
/// (24 pins at 0xFEC0_0000) and the APIC bus between them. It delivers MSIs, IOAPIC messages and IPIs to the local
/// APICs they address (fixed; lowest priority as fixed to the first, lowest-ID addressed APIC; NMI; INIT; start-up),
/// wakes the vCPUs it reaches, and hands level-triggered EOIs back to the IOAPIC.
/// </summary>
internal sealed class ApicBus : IApicBus
{
    private readonly Lock _ioApicLock = new();
    private readonly IoApic _ioApic;
    private Action<int> _wake = static _ => { };
    private long _dropped;

    /// <summary>Creates the bus and one local APIC per vCPU on <paramref name="clock"/>.</summary>
    public ApicBus(int vcpuCount, VirtualClock clock)
    {
        Apics = [.. Enumerable.Range(0, vcpuCount).Select(id => new LocalApic(id, clock, this))];
        _ioApic = new IoApic(Deliver);
    }

    /// <summary>The local APIC of each vCPU, index = vCPU id = APIC ID.</summary>
    public IReadOnlyList<LocalApic> Apics { get; }

    /// <summary>Messages (MSIs, IOAPIC messages, IPIs) that reached no local APIC.</summary>
    public long DroppedMessages => Interlocked.Read(ref _dropped);

    /// <summary>Messages the IOAPIC sent that reached no local APIC.</summary>
    public long UndeliveredIoApicMessages
    {
        get
        {
            lock (_ioApicLock)
            {
                return _ioApic.UndeliveredMessages;
            }
        }
    }

    /// <summary>Sets how a delivery wakes vCPU n from a halt (the VM's vCPU threads, once they exist).</summary>
    public void ConnectWake(Action<int> wake) => _wake = wake;

    /// <summary>Wakes vCPU <paramref name="id"/> (a halted vCPU re-checks its APIC).</summary>
    public void Wake(int id) => _wake(id);

    /// <summary>An IOAPIC input pin changes level.</summary>
    public void SetIoApicPin(int pin, bool asserted)
    {
        lock (_ioApicLock)
        {
            _ioApic.SetPinLevel(pin, asserted);
        }
    }

    /// <summary>An MMIO read inside the IOAPIC's window.</summary>
    public ulong ReadIoApic(ulong offset, int size)
    {
        lock (_ioApicLock)
        {
            return _ioApic.Read(offset, size);
        }
    }

    /// <summary>An MMIO write inside the IOAPIC's window.</summary>
    public void WriteIoApic(ulong offset, int size, ulong value)
    {
        lock (_ioApicLock)
        {
            _ioApic.Write(offset, size, value);
        }
    }

    /// <summary>The IOAPIC's state (for tests and diagnostics).</summary>
    public IoApicState CaptureIoApic()
    {
        lock (_ioApicLock)
        {
            return _ioApic.CaptureState();
        }
    }

    /// <inheritdoc />
    public void BroadcastEoi(byte vector)
    {
        lock (_ioApicLock)
        {
            _ioApic.EndOfInterrupt(vector);
        }
    }

    /// <inheritdoc />
    public void SendIpi(int sourceId, uint command, byte destination)
    {
        uint mode = command & LvtDeliveryModeMask;
        if (mode == DeliveryModeInit && (command & IcrLevelAssert) == 0)
        {
            // INIT level de-assert only re-synchronises arbitration IDs: nothing to deliver.
            return;
        }

        Deliver(new ApicMessage(sourceId, command & IcrShorthandMask, destination, (command & IcrDestinationLogical) != 0, mode, (byte)(command & IcrVectorMask), LevelTriggered: false));
    }

    /// <summary>Delivers an MSI (or an IOAPIC message in MSI form): false when it addresses no APIC or is not an interrupt.</summary>
    public bool Deliver(MsiMessage message)
    {
        if (!message.IsInterruptAddress)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }

        uint mode = (uint)message.DeliveryMode << MsiMessage.DeliveryModeShift;
        return Deliver(new ApicMessage(-1, IcrShorthandNone, message.DestinationId, message.IsLogicalDestination, mode, message.Vector, message.IsLevelTriggered));
    }

    private bool Deliver(in ApicMessage message)
    {
        bool delivered = false;
        foreach (var apic in Apics)
        {
            if (!Addresses(message, apic) || !Accept(message, apic))
            {
                continue;
            }

            delivered = true;
            _wake(apic.Id);
            if (message.Mode == DeliveryModeLowestPriority)
            {
                break;
            }
        }

        if (!delivered)
        {
            Interlocked.Increment(ref _dropped);
        }

        return delivered;
    }

    private static bool Accept(in ApicMessage message, LocalApic apic)
    {
        switch (message.Mode)
        {
            case DeliveryModeFixed:
            case DeliveryModeLowestPriority:
                return apic.AcceptFixed(message.Vector, message.LevelTriggered);
            case DeliveryModeNmi:
                apic.AcceptNmi();
                return true;
            case DeliveryModeInit:
                apic.AcceptInit();
                return true;
            case DeliveryModeStartUp:
                apic.AcceptStartUp(message.Vector);
                return true;
            default:
                return false; // SMI, ExtINT through the APIC bus: not modelled
        }
    }

    private static bool Addresses(in ApicMessage message, LocalApic apic) => message.Shorthand switch
    {
        IcrShorthandSelf => apic.Id == message.Source,
        IcrShorthandAll => true,
        IcrShorthandAllButSelf => apic.Id != message.Source,
        _ => message.Logical
            ? apic.MatchesLogical(message.Destination)
            : message.Destination == MsiMessage.BroadcastDestination || message.Destination == apic.Id,
    };

    /// <summary>One message on the APIC bus.</summary>
    /// <param name="Source">The sending APIC's ID (IPIs), or −1 (MSIs, the IOAPIC).</param>
    /// <param name="Shorthand">The ICR destination shorthand (none for MSIs).</param>
    /// <param name="Destination">APIC ID (physical; 0xFF = all) or logical destination set.</param>
    /// <param name="Logical">Logical destination mode.</param>
    /// <param name="Mode">Delivery mode as the ICR/LVT encode it (bits 8–10).</param>
    /// <param name="Vector">The vector (start page for start-up IPIs).</param>
    /// <param name="LevelTriggered">Level-triggered (the EOI goes back to the IOAPIC).</param>
    private readonly record struct ApicMessage(int Source, uint Shorthand, byte Destination, bool Logical, uint Mode, byte Vector, bool LevelTriggered);
}
