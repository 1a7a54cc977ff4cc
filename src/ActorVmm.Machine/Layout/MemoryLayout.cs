using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Layout;

/// <summary>
/// One VM's address map: a <see cref="MemoryMap"/> applied to its RAM size. Guest RAM (both backends),
/// KVM memory slots and the CMOS memory-size fields come from it; boot tables (e820, the FDT) enumerate
/// <see cref="AddressSpace"/>.
/// </summary>
public sealed class MemoryLayout
{
    internal MemoryLayout(MemoryMap map, ulong ramSize, IReadOnlyList<RamSlot> ramSlots, IReadOnlyList<MemoryMapRegion> windows)
    {
        Map = map;
        RamSize = ramSize;
        RamSlots = ramSlots;
        Windows = [.. windows.OrderBy(w => w.Bus).ThenBy(w => w.Base)];
        RamRanges = [.. ramSlots.Select(s => new MemoryMapRegion(RamName(s.Slot), TrapBus.Mmio, s.GuestPhysicalAddress, s.Size, MemoryRegionKind.Ram))];
        AddressSpace = [.. RamRanges.Concat(Windows.Where(w => w.Bus == TrapBus.Mmio)).OrderBy(r => r.Base).ThenBy(r => r.Kind)];
        RamEnd = ramSlots.Max(s => s.GuestPhysicalAddress + s.Size);
    }

    /// <summary>The map this layout comes from.</summary>
    public MemoryMap Map { get; }

    /// <summary>Guest RAM in bytes.</summary>
    public ulong RamSize { get; }

    /// <summary>The RAM slots, in guest-address order, with their offsets in the VM's one host allocation.</summary>
    public IReadOnlyList<RamSlot> RamSlots { get; }

    /// <summary>The same RAM slots as regions of kind <see cref="MemoryRegionKind.Ram"/> named "ram0", "ram1", ...</summary>
    public IReadOnlyList<MemoryMapRegion> RamRanges { get; }

    /// <summary>Every non-RAM window on both buses (fixed ones and those placed after RAM), by bus then address.</summary>
    public IReadOnlyList<MemoryMapRegion> Windows { get; }

    /// <summary>
    /// The guest-physical address space in address order: RAM ranges and the MMIO-bus windows. Windows of kind
    /// <see cref="MemoryRegionKind.Reserved"/> may lie inside RAM (the legacy VGA/BIOS area); an e820 table carves them out.
    /// </summary>
    public IReadOnlyList<MemoryMapRegion> AddressSpace { get; }

    /// <summary>One past the highest RAM address.</summary>
    public ulong RamEnd { get; }

    /// <summary>The window named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No window has that name.</exception>
    public MemoryMapRegion Window(string name) =>
        Windows.FirstOrDefault(r => r.Name == name)
        ?? throw new KeyNotFoundException($"This {Map.Architecture} layout has no window named '{name}'");

    /// <summary>What is at <paramref name="address"/> on <paramref name="bus"/>: a window (preferred, for reserved areas inside RAM), a RAM range, or null.</summary>
    public MemoryMapRegion? Find(TrapBus bus, ulong address) =>
        Windows.FirstOrDefault(r => r.Bus == bus && r.Contains(address))
        ?? (bus == TrapBus.Mmio ? RamRanges.FirstOrDefault(r => r.Contains(address)) : null);

    /// <summary>The name of RAM slot <paramref name="slot"/> in <see cref="RamRanges"/>.</summary>
    public static string RamName(int slot) => $"ram{slot}";

    /// <inheritdoc />
    public override string ToString() => $"{Map.Architecture} layout, {RamSize} bytes of RAM in {RamSlots.Count} slot(s)";
}
