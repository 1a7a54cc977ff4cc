namespace ActorVmm.Devices.Vfio;

/// <summary>The MSI capability's registers (PCI Local Bus 3.0 §6.8.1), offsets from the capability's start.</summary>
public static class MsiRegisters
{
    /// <summary>Message control (16 bits).</summary>
    public const int MessageControl = 2;

    /// <summary>Message address, low 32 bits.</summary>
    public const int AddressLow = 4;

    /// <summary>Message address, high 32 bits (64-bit capable functions only).</summary>
    public const int AddressHigh = 8;

    /// <summary>Message data of a 32-bit capability.</summary>
    public const int Data32 = 8;

    /// <summary>Message data of a 64-bit capability.</summary>
    public const int Data64 = 12;

    /// <summary>Length of a 32-bit capability without per-vector masking.</summary>
    public const int Length32 = 10;

    /// <summary>Length of a 64-bit capability without per-vector masking.</summary>
    public const int Length64 = 14;

    /// <summary>Control bit 0: MSI enable.</summary>
    public const ushort Enable = 1 << 0;

    /// <summary>Control bits 3:1: multiple message capable (log2 of the vectors the function can use).</summary>
    public const ushort MultipleMessageCapableMask = 0x7 << 1;

    /// <summary>Shift of the multiple message capable field.</summary>
    public const int MultipleMessageCapableShift = 1;

    /// <summary>Control bits 6:4: multiple message enable (log2 of the vectors software granted).</summary>
    public const ushort MultipleMessageEnableMask = 0x7 << 4;

    /// <summary>Shift of the multiple message enable field.</summary>
    public const int MultipleMessageEnableShift = 4;

    /// <summary>Control bit 7: 64-bit address capable.</summary>
    public const ushort Address64 = 1 << 7;

    /// <summary>Control bit 8: per-vector masking capable.</summary>
    public const ushort PerVectorMasking = 1 << 8;

    /// <summary>Address bits software may write (the address is dword aligned).</summary>
    public const uint AddressLowWritable = ~0x3u;
}
