using ActorVmm.Machine.Interrupts;
using static ActorVmm.Devices.IoApic.IoApicRegisters;

namespace ActorVmm.Devices.IoApic;

/// <summary>
/// The I/O APIC (82093AA, 24 pins) as a pure state machine: IOREGSEL/IOWIN, the ID, version and arbitration
/// registers, and 24 redirection entries. An input pin's interrupt leaves as an APIC-bus message in MSI form
/// (<see cref="MsiMessage"/>: destination and mode in the address, vector, delivery and trigger mode in the data)
/// through the injected <c>deliver</c>, which says whether any local APIC took it. Edge-triggered pins deliver on a
/// rising edge while unmasked (an edge while masked is lost, as on the chip); level-triggered pins deliver while
/// asserted, unmasked and without remote IRR, set remote IRR when taken, and deliver again after the local APIC's
/// EOI broadcast (<see cref="EndOfInterrupt"/>) if still asserted.
/// </summary>
/// <remarks>
/// Inputs are logical levels (asserted = true), as every interrupt line of this VMM is: the polarity bit is kept for
/// the guest but does not invert them (KVM's in-kernel IOAPIC treats its GSI levels the same way). No threads, no
/// clock, no lock: the owner serializes calls (the emulator holds one lock around each).
/// </remarks>
public sealed class IoApic
{
    private const int IndexMask = 0xFF;

    private readonly Func<MsiMessage, bool> _deliver;
    private readonly ulong[] _redirection = new ulong[PinCount];
    private readonly bool[] _levels = new bool[PinCount];
    private uint _id;
    private byte _select;

    /// <summary>Creates the IOAPIC at power-on, or rebuilt from <paramref name="state"/>.</summary>
    /// <param name="deliver">SEAM (bound by the backend's APIC bus): sends one message to the local APICs; true when one took it.</param>
    /// <param name="state">A captured state to continue from; power-on when null.</param>
    /// <exception cref="DeviceStateException">The state is invalid (the IOAPIC is not created).</exception>
    public IoApic(Func<MsiMessage, bool> deliver, IoApicState? state = null)
    {
        ArgumentNullException.ThrowIfNull(deliver);
        _deliver = deliver;
        LoadState(state ?? IoApicState.PowerOn);
    }

    /// <summary>Messages that reached no local APIC (no destination, APIC disabled, unmodelled delivery mode).</summary>
    public long UndeliveredMessages { get; private set; }

    /// <summary>The guest-visible state.</summary>
    public IoApicState CaptureState() =>
        new(_id, _select, StateArray.Create<ulong>(_redirection), StateArray.Create<bool>(_levels));

    /// <summary>Back to power-on: ID 0, every pin masked; the input levels stay (they are the wires').</summary>
    public void Reset()
    {
        _id = 0;
        _select = 0;
        Array.Fill(_redirection, EntryReset);
    }

    /// <summary>A 1–8 byte MMIO read at <paramref name="offset"/>: IOREGSEL and IOWIN are 32-bit registers; every other byte reads 0.</summary>
    public ulong Read(ulong offset, int size)
    {
        ulong value = 0;
        for (int i = 0; i < size; i++)
        {
            ulong at = offset + (ulong)i;
            uint register = at switch
            {
                >= RegisterSelect and < RegisterSelect + sizeof(uint) => _select,
                >= Window and < Window + sizeof(uint) => ReadIndirect(_select),
                _ => 0,
            };
            int shift = 8 * (int)(at % sizeof(uint));
            value |= (ulong)((register >> shift) & 0xFF) << (8 * i);
        }

        return value;
    }

    /// <summary>
    /// An MMIO write: IOREGSEL takes its low byte from any write starting at its offset; IOWIN takes aligned 32-bit
    /// (or 64-bit, low half) writes. Other offsets and sizes are ignored.
    /// </summary>
    public void Write(ulong offset, int size, ulong value)
    {
        if (offset == RegisterSelect)
        {
            _select = (byte)(value & IndexMask);
        }
        else if (offset == Window && size is sizeof(uint) or sizeof(ulong))
        {
            WriteIndirect(_select, (uint)value);
        }
    }

    /// <summary>Input <paramref name="pin"/> changes to <paramref name="asserted"/>; out-of-range pins are ignored.</summary>
    public void SetPinLevel(int pin, bool asserted)
    {
        if ((uint)pin >= PinCount)
        {
            return;
        }

        bool was = _levels[pin];
        _levels[pin] = asserted;
        ulong entry = _redirection[pin];
        if ((entry & TriggerLevel) != 0)
        {
            TryDeliverLevel(pin);
        }
        else if (asserted && !was && (entry & Masked) == 0)
        {
            Send(entry);
        }
    }

    /// <summary>
    /// A local APIC's EOI broadcast for <paramref name="vector"/>: every level-triggered pin using it loses its remote
    /// IRR and delivers again when its input is still asserted.
    /// </summary>
    public void EndOfInterrupt(byte vector)
    {
        for (int pin = 0; pin < PinCount; pin++)
        {
            ulong entry = _redirection[pin];
            if ((entry & RemoteIrr) != 0 && (byte)(entry & VectorMask) == vector)
            {
                _redirection[pin] = entry & ~RemoteIrr;
                TryDeliverLevel(pin);
            }
        }
    }

    /// <summary>The message redirection entry <paramref name="entry"/> sends (MSI form, Intel SDM vol. 3, 11.11).</summary>
    public static MsiMessage Message(ulong entry)
    {
        ulong address = MsiMessage.AddressBase
            | ((entry >> DestinationShift) << MsiMessage.DestinationIdShift)
            | ((entry & DestinationLogical) != 0 ? MsiMessage.DestinationModeLogical : 0);
        uint data = (uint)(entry & (VectorMask | DeliveryModeMask));
        if ((entry & TriggerLevel) != 0)
        {
            data |= MsiMessage.TriggerModeLevel | MsiMessage.LevelAssert;
        }

        return new MsiMessage(address, data);
    }

    private void LoadState(IoApicState state)
    {
        state.Validate();
        _id = state.Id;
        _select = state.RegisterSelect;
        state.Redirection.CopyTo(_redirection);
        state.PinLevels.CopyTo(_levels);
    }

    private uint ReadIndirect(byte index)
    {
        switch (index)
        {
            case IdIndex:
            case ArbitrationIndex:
                return _id;
            case VersionIndex:
                return VersionValue;
            case >= RedirectionBaseIndex and < RedirectionBaseIndex + (2 * PinCount):
                ulong entry = _redirection[(index - RedirectionBaseIndex) / 2];
                return (index & 1) == 0 ? (uint)entry : (uint)(entry >> 32);
            default:
                return 0;
        }
    }

    private void WriteIndirect(byte index, uint value)
    {
        switch (index)
        {
            case IdIndex:
                _id = value & IdMask;
                break;
            case >= RedirectionBaseIndex and < RedirectionBaseIndex + (2 * PinCount):
                int pin = (index - RedirectionBaseIndex) / 2;
                ulong entry = _redirection[pin];
                ulong written = (index & 1) == 0
                    ? (entry & 0xFFFF_FFFF_0000_0000) | value
                    : (entry & 0xFFFF_FFFF) | ((ulong)value << 32);
                // Remote IRR is the chip's; an edge-triggered pin never has it.
                ulong remote = (written & TriggerLevel) != 0 ? entry & RemoteIrr : 0;
                _redirection[pin] = (written & WritableMask) | remote;
                if ((written & TriggerLevel) != 0)
                {
                    // Unmasking (or retargeting) an asserted level pin delivers it now.
                    TryDeliverLevel(pin);
                }

                break;
            default:
                break; // version and arbitration are read-only; other indices do not exist
        }
    }

    private void TryDeliverLevel(int pin)
    {
        ulong entry = _redirection[pin];
        if (!_levels[pin] || (entry & (Masked | RemoteIrr)) != 0 || (entry & TriggerLevel) == 0)
        {
            return;
        }

        if (Send(entry))
        {
            _redirection[pin] = entry | RemoteIrr;
        }
    }

    private bool Send(ulong entry)
    {
        bool delivered = _deliver(Message(entry));
        if (!delivered)
        {
            UndeliveredMessages++;
        }

        return delivered;
    }
}
