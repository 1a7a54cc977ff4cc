using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Pci;

/// <summary>What a BAR decodes.</summary>
public enum PciBarKind
{
    /// <summary>I/O space (bit 0 set).</summary>
    Io = 0,

    /// <summary>32-bit memory space (type bits 00b).</summary>
    Memory32,

    /// <summary>64-bit memory space (type bits 10b): this BAR and the next form one address.</summary>
    Memory64,
}

/// <summary>
/// One BAR of a function: its register index, kind and size (a power of two). A 64-bit BAR takes registers
/// <see cref="Index"/> and <see cref="Index"/> + 1.
/// </summary>
/// <param name="Index">BAR register number 0–5 (0–4 for a 64-bit BAR).</param>
/// <param name="Kind">I/O, 32-bit or 64-bit memory.</param>
/// <param name="Size">Bytes (ports) decoded: a power of two, 4–256 for I/O, at least 16 for memory.</param>
/// <param name="Prefetchable">Memory BARs only: reads have no side effects (bit 3).</param>
public sealed record PciBarDefinition(int Index, PciBarKind Kind, ulong Size, bool Prefetchable = false)
{
    /// <summary>Smallest I/O BAR (bits 1:0 are type bits).</summary>
    public const ulong MinIoSize = 4;

    /// <summary>Largest I/O BAR the PCI spec allows.</summary>
    public const ulong MaxIoSize = 256;

    /// <summary>Smallest memory BAR (bits 3:0 are type bits).</summary>
    public const ulong MinMemorySize = 16;

    /// <summary>Largest 32-bit memory BAR (2 GiB: the register needs one writable address bit).</summary>
    public const ulong MaxMemory32Size = 1UL << 31;

    /// <summary>Largest 64-bit memory BAR.</summary>
    public const ulong MaxMemory64Size = 1UL << 63;

    /// <summary>Registers the BAR occupies (2 for 64-bit).</summary>
    public int RegisterCount => Kind == PciBarKind.Memory64 ? 2 : 1;

    /// <summary>The trap bus the BAR's region lives on (I/O BARs on the port bus; arm64 binds them into its PCI I/O MMIO window).</summary>
    public TrapBus Bus => Kind == PciBarKind.Io ? TrapBus.Pio : TrapBus.Mmio;

    /// <summary>The read-only low bits of the (low) register: space, type and prefetchable bits.</summary>
    public uint TypeBits => Kind switch
    {
        PciBarKind.Io => PciBarBits.IoSpace,
        PciBarKind.Memory32 => Prefetchable ? PciBarBits.Prefetchable : 0,
        _ => PciBarBits.MemoryType64 | (Prefetchable ? PciBarBits.Prefetchable : 0),
    };

    /// <summary>Address bits of the low register (the size mask a guest reads back after writing all ones, without type bits).</summary>
    public uint LowAddressMask => (uint)~(Size - 1) & (Kind == PciBarKind.Io ? PciBarBits.IoAddressMask : PciBarBits.MemoryAddressMask);

    /// <summary>Address bits of the high register of a 64-bit BAR (0 for other kinds).</summary>
    public uint HighAddressMask => Kind == PciBarKind.Memory64 ? (uint)(~(Size - 1) >> 32) : 0;

    /// <summary>Throws <see cref="ArgumentException"/> when the BAR cannot exist.</summary>
    public void Validate()
    {
        int lastRegister = Index + RegisterCount - 1;
        if (Index < 0 || lastRegister >= PciHeader.BarCount)
        {
            throw new ArgumentException($"BAR {Index} ({Kind}) does not fit the {PciHeader.BarCount} BAR registers");
        }

        if (Size == 0 || (Size & (Size - 1)) != 0)
        {
            throw new ArgumentException($"BAR {Index} size 0x{Size:X} is not a power of two");
        }

        (ulong min, ulong max) = Kind switch
        {
            PciBarKind.Io => (MinIoSize, MaxIoSize),
            PciBarKind.Memory32 => (MinMemorySize, MaxMemory32Size),
            _ => (MinMemorySize, MaxMemory64Size),
        };
        if (Size < min || Size > max)
        {
            throw new ArgumentException($"BAR {Index} ({Kind}) size 0x{Size:X} is outside 0x{min:X}..0x{max:X}");
        }

        if (Kind == PciBarKind.Io && Prefetchable)
        {
            throw new ArgumentException($"BAR {Index}: an I/O BAR cannot be prefetchable");
        }
    }
}

/// <summary>Bits of a BAR register (PCI Local Bus 3.0 §6.2.5.1).</summary>
public static class PciBarBits
{
    /// <summary>Bit 0: the BAR decodes I/O space (0 = memory).</summary>
    public const uint IoSpace = 1u << 0;

    /// <summary>Address bits of an I/O BAR (bit 1 is reserved 0).</summary>
    public const uint IoAddressMask = ~3u;

    /// <summary>Bits 2:1 of a memory BAR: the type.</summary>
    public const uint MemoryTypeMask = 3u << 1;

    /// <summary>Memory type 10b: 64-bit, the next BAR holds the high half.</summary>
    public const uint MemoryType64 = 2u << 1;

    /// <summary>Bit 3 of a memory BAR: prefetchable.</summary>
    public const uint Prefetchable = 1u << 3;

    /// <summary>Address bits of a memory BAR.</summary>
    public const uint MemoryAddressMask = ~0xFu;

    /// <summary>What a guest writes to a BAR to size it.</summary>
    public const uint SizingPattern = uint.MaxValue;
}
