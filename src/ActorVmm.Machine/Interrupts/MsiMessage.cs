namespace ActorVmm.Machine.Interrupts;

/// <summary>How an x86 MSI is delivered (message data bits 8–10, Intel SDM vol. 3, 11.11.2).</summary>
public enum MsiDeliveryMode
{
    /// <summary>Deliver the vector to every addressed local APIC.</summary>
    Fixed = 0,

    /// <summary>Deliver the vector to the addressed APIC running at the lowest priority.</summary>
    LowestPriority = 1,

    /// <summary>System management interrupt.</summary>
    Smi = 2,

    /// <summary>Non-maskable interrupt (vector ignored).</summary>
    Nmi = 4,

    /// <summary>INIT (vector ignored).</summary>
    Init = 5,

    /// <summary>External interrupt: the vector comes from an 8259-compatible controller.</summary>
    ExtInt = 7,
}

/// <summary>
/// An x86 message-signalled interrupt as a PCI device writes it: a 32-bit write of <see cref="Data"/>
/// to <see cref="Address"/> in the 0xFEE0_0000 window (Intel SDM vol. 3, 11.11). The address carries
/// the destination APIC ID and mode, the data the vector, delivery mode and trigger mode. A message
/// outside the window is not an interrupt: both backends drop it (see <see cref="IsInterruptAddress"/>).
/// </summary>
/// <param name="Address">The 64-bit message address (address_hi:address_lo).</param>
/// <param name="Data">The 32-bit message data.</param>
public readonly record struct MsiMessage(ulong Address, uint Data)
{
    /// <summary>The interrupt window every x86 MSI address lies in (bits 20–31 = 0xFEE).</summary>
    public const ulong AddressBase = 0xFEE0_0000;

    /// <summary>Address bits that must equal <see cref="AddressBase"/> (and address_hi must be 0).</summary>
    public const ulong AddressWindowMask = 0xFFFF_FFFF_FFF0_0000;

    /// <summary>Address bits 12–19: the destination APIC ID (physical) or logical destination.</summary>
    public const int DestinationIdShift = 12;

    /// <summary>Address bit 2: destination mode, set for logical destination.</summary>
    public const ulong DestinationModeLogical = 1UL << 2;

    /// <summary>Address bit 3: redirection hint (lowest-priority redirection allowed).</summary>
    public const ulong RedirectionHint = 1UL << 3;

    /// <summary>Data bits 0–7: the interrupt vector.</summary>
    public const uint VectorMask = 0xFF;

    /// <summary>Data bits 8–10: the delivery mode.</summary>
    public const int DeliveryModeShift = 8;

    /// <summary>Mask of the delivery-mode field after shifting.</summary>
    public const uint DeliveryModeMask = 0x7;

    /// <summary>Data bit 14: level (assert) for level-triggered messages.</summary>
    public const uint LevelAssert = 1u << 14;

    /// <summary>Data bit 15: trigger mode, set for level-triggered.</summary>
    public const uint TriggerModeLevel = 1u << 15;

    /// <summary>The physical destination ID that addresses every local APIC.</summary>
    public const byte BroadcastDestination = 0xFF;

    /// <summary>A fixed-delivery, edge-triggered message to one local APIC in physical destination mode.</summary>
    public static MsiMessage Fixed(byte destinationApicId, byte vector) =>
        new(AddressBase | ((ulong)destinationApicId << DestinationIdShift), vector);

    /// <summary>True when the address lies in the 0xFEE0_0000 interrupt window.</summary>
    public bool IsInterruptAddress => (Address & AddressWindowMask) == AddressBase;

    /// <summary>The destination APIC ID (physical mode) or logical destination bitmap.</summary>
    public byte DestinationId => (byte)(Address >> DestinationIdShift);

    /// <summary>True for logical destination mode.</summary>
    public bool IsLogicalDestination => (Address & DestinationModeLogical) != 0;

    /// <summary>The vector.</summary>
    public byte Vector => (byte)(Data & VectorMask);

    /// <summary>The delivery mode.</summary>
    public MsiDeliveryMode DeliveryMode => (MsiDeliveryMode)((Data >> DeliveryModeShift) & DeliveryModeMask);

    /// <summary>True for a level-triggered message.</summary>
    public bool IsLevelTriggered => (Data & TriggerModeLevel) != 0;

    /// <summary>address_lo as KVM and PCI capabilities hold it.</summary>
    public uint AddressLow => (uint)Address;

    /// <summary>address_hi as KVM and PCI capabilities hold it.</summary>
    public uint AddressHigh => (uint)(Address >> 32);

    /// <inheritdoc />
    public override string ToString() =>
        $"MSI address=0x{Address:X} data=0x{Data:X} (dest {DestinationId}{(IsLogicalDestination ? " logical" : string.Empty)}, vector {Vector}, {DeliveryMode})";
}
