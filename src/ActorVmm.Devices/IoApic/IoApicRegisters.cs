namespace ActorVmm.Devices.IoApic;

/// <summary>
/// The 82093AA I/O APIC's registers (datasheet 3.0–3.2; KVM's in-kernel IOAPIC has the same layout): two MMIO
/// registers select and access an indirect register file of the ID, version, arbitration ID and 24 64-bit
/// redirection entries, and the redirection-entry bits.
/// </summary>
public static class IoApicRegisters
{
    /// <summary>Pins (redirection entries).</summary>
    public const int PinCount = 24;

    /// <summary>MMIO offset of IOREGSEL: the index of the indirect register IOWIN accesses (bits 0–7).</summary>
    public const int RegisterSelect = 0x00;

    /// <summary>MMIO offset of IOWIN: the 32-bit window onto the selected register.</summary>
    public const int Window = 0x10;

    /// <summary>Size of the MMIO window the chip decodes (both registers inside the first 0x20 bytes; the rest reads 0).</summary>
    public const int MmioSize = 0x1000;

    /// <summary>Indirect register 0x00: IOAPICID, the ID in bits 24–27.</summary>
    public const byte IdIndex = 0x00;

    /// <summary>Indirect register 0x01: IOAPICVER, read-only.</summary>
    public const byte VersionIndex = 0x01;

    /// <summary>Indirect register 0x02: IOAPICARB, the arbitration ID (bits 24–27), read-only.</summary>
    public const byte ArbitrationIndex = 0x02;

    /// <summary>Indirect register 0x10: the low half of redirection entry 0; entry n is at 0x10 + 2n (low) and 0x11 + 2n (high).</summary>
    public const byte RedirectionBaseIndex = 0x10;

    /// <summary>IOAPICVER: version 0x11 and maximum redirection entry 23 in bits 16–23 (as KVM's in-kernel IOAPIC and the MP table say).</summary>
    public const uint VersionValue = 0x0011 | ((PinCount - 1) << 16);

    /// <summary>IOAPICID bits 24–27: the writable ID field.</summary>
    public const uint IdMask = 0x0F00_0000;

    /// <summary>Redirection bits 0–7: the vector.</summary>
    public const ulong VectorMask = 0xFF;

    /// <summary>Redirection bits 8–10: the delivery mode (000 fixed, 001 lowest priority, 010 SMI, 100 NMI, 101 INIT, 111 ExtINT).</summary>
    public const ulong DeliveryModeMask = 0x7UL << 8;

    /// <summary>The delivery mode field's shift.</summary>
    public const int DeliveryModeShift = 8;

    /// <summary>Redirection bit 11: destination mode, set for logical.</summary>
    public const ulong DestinationLogical = 1UL << 11;

    /// <summary>Redirection bit 12: delivery status (read-only; reads 0 here, delivery is instantaneous).</summary>
    public const ulong DeliveryPending = 1UL << 12;

    /// <summary>Redirection bit 13: input pin polarity, set for active low (kept; the model's inputs are logical levels).</summary>
    public const ulong PolarityActiveLow = 1UL << 13;

    /// <summary>Redirection bit 14: remote IRR (read-only): a level-triggered interrupt was accepted and its EOI has not come.</summary>
    public const ulong RemoteIrr = 1UL << 14;

    /// <summary>Redirection bit 15: trigger mode, set for level.</summary>
    public const ulong TriggerLevel = 1UL << 15;

    /// <summary>Redirection bit 16: the pin is masked.</summary>
    public const ulong Masked = 1UL << 16;

    /// <summary>Redirection bits 56–63: the destination (APIC ID, or logical destination set).</summary>
    public const int DestinationShift = 56;

    /// <summary>Bits a guest can write: everything but delivery status and remote IRR (and the reserved bits 17–55).</summary>
    public const ulong WritableMask = VectorMask | DeliveryModeMask | DestinationLogical | PolarityActiveLow | TriggerLevel | Masked | (0xFFUL << DestinationShift);

    /// <summary>A redirection entry after reset: masked, everything else 0.</summary>
    public const ulong EntryReset = Masked;
}
