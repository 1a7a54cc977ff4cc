namespace ActorVmm.Devices.Pci.Msix;

/// <summary>The MSI-X capability, table entry and PBA layout (PCI Local Bus 3.0 §6.8.2).</summary>
public static class MsixRegisters
{
    /// <summary>Message control, 16 bits at capability offset 2.</summary>
    public const int MessageControl = 2;

    /// <summary>Table offset (bits 31:3) and BAR indicator (bits 2:0), 32 bits at capability offset 4 (read-only).</summary>
    public const int TableOffsetBir = 4;

    /// <summary>PBA offset (bits 31:3) and BAR indicator (bits 2:0), 32 bits at capability offset 8 (read-only).</summary>
    public const int PbaOffsetBir = 8;

    /// <summary>Bytes of the capability (ID, next pointer and the three registers).</summary>
    public const int CapabilityLength = 12;

    /// <summary>Message control bits 10:0: table size minus one (read-only).</summary>
    public const ushort TableSizeMask = 0x07FF;

    /// <summary>Message control bit 14: function mask, every vector masked whatever its own mask bit.</summary>
    public const ushort FunctionMask = 1 << 14;

    /// <summary>Message control bit 15: MSI-X enable (and INTx no longer used).</summary>
    public const ushort Enable = 1 << 15;

    /// <summary>Bits 2:0 of the table/PBA register: which BAR holds the structure.</summary>
    public const uint BirMask = 0x7;

    /// <summary>Bits 31:3 of the table/PBA register: offset inside the BAR (qword aligned).</summary>
    public const uint OffsetMask = ~BirMask;

    /// <summary>Bytes per table entry.</summary>
    public const int EntrySize = 16;

    /// <summary>Entry offset 0: message address bits 31:0.</summary>
    public const int EntryAddressLow = 0;

    /// <summary>Entry offset 4: message address bits 63:32.</summary>
    public const int EntryAddressHigh = 4;

    /// <summary>Entry offset 8: message data.</summary>
    public const int EntryData = 8;

    /// <summary>Entry offset 12: vector control.</summary>
    public const int EntryVectorControl = 12;

    /// <summary>Vector control bit 0: the vector is masked (set at reset); bits 31:1 are reserved 0.</summary>
    public const uint VectorMasked = 1;

    /// <summary>Most vectors a function can have.</summary>
    public const int MaxVectors = 2048;

    /// <summary>Pending bits per PBA qword.</summary>
    public const int PendingBitsPerQword = 64;
}
