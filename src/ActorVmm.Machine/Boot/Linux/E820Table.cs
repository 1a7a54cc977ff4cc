using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Boot.Linux;

/// <summary>e820 entry types this loader reports (values of E820_RAM / E820_RESERVED).</summary>
public enum E820Type : uint
{
    /// <summary>Usable RAM.</summary>
    Ram = BootParamsConstants.E820_RAM,

    /// <summary>Not RAM for the OS to use: firmware areas, device windows the OS must not allocate over.</summary>
    Reserved = BootParamsConstants.E820_RESERVED,
}

/// <summary>One e820 entry.</summary>
/// <param name="Address">First byte.</param>
/// <param name="Size">Length in bytes (never zero).</param>
/// <param name="Type">What the range is.</param>
public readonly record struct E820Entry(ulong Address, ulong Size, E820Type Type)
{
    /// <summary>One past the last byte.</summary>
    public ulong End => Address + Size;
}

/// <summary>
/// The e820 memory map a guest is told about, from its <see cref="MemoryLayout"/>: every RAM slot as RAM, less the
/// reserved areas inside it; every window of kind <see cref="MemoryRegionKind.Reserved"/> (legacy VGA/BIOS area,
/// framebuffer, KVM's private pages) or <see cref="MemoryRegionKind.InterruptController"/> (IOAPIC, local APIC), and
/// any extra reserved range the loader adds (the MP table), as reserved. PCI, PCI-config and virtio windows are left
/// out: they are holes the guest may assign BARs in. Entries are sorted, non-overlapping and merged when adjacent and
/// of one type.
/// </summary>
public static class E820Table
{
    /// <summary>Builds the table.</summary>
    /// <exception cref="LinuxBootException">More entries than the zero page holds (E820_MAX_ENTRIES_ZEROPAGE).</exception>
    public static IReadOnlyList<E820Entry> Build(MemoryLayout layout, IEnumerable<(ulong Address, ulong Size)>? extraReserved = null)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var reserved = layout.Windows
            .Where(w => w.Bus == TrapBus.Mmio && w.Kind is MemoryRegionKind.Reserved or MemoryRegionKind.InterruptController)
            .Select(w => (w.Base, End: w.Base + w.Size))
            .Concat((extraReserved ?? []).Select(r => (Base: r.Address, End: r.Address + r.Size)))
            .Where(r => r.End > r.Base)
            .OrderBy(r => r.Base)
            .ToList();
        var reservedUnion = Union(reserved);

        var entries = new List<E820Entry>();
        foreach (var ram in layout.RamSlots.OrderBy(s => s.GuestPhysicalAddress))
        {
            foreach (var (start, end) in Subtract(ram.GuestPhysicalAddress, ram.GuestPhysicalAddress + ram.Size, reservedUnion))
            {
                entries.Add(new E820Entry(start, end - start, E820Type.Ram));
            }
        }

        entries.AddRange(reservedUnion.Select(r => new E820Entry(r.Start, r.End - r.Start, E820Type.Reserved)));
        var table = Merge(entries.OrderBy(e => e.Address));
        if (table.Count > BootParamsConstants.E820_MAX_ENTRIES_ZEROPAGE)
        {
            throw new LinuxBootException($"the guest memory map has {table.Count} e820 entries, more than the {BootParamsConstants.E820_MAX_ENTRIES_ZEROPAGE} the zero page holds");
        }

        return table;
    }

    private static List<(ulong Start, ulong End)> Union(IEnumerable<(ulong Base, ulong End)> sorted)
    {
        var union = new List<(ulong Start, ulong End)>();
        foreach (var (start, end) in sorted)
        {
            if (union.Count > 0 && start <= union[^1].End)
            {
                union[^1] = (union[^1].Start, Math.Max(union[^1].End, end));
            }
            else
            {
                union.Add((start, end));
            }
        }

        return union;
    }

    private static IEnumerable<(ulong Start, ulong End)> Subtract(ulong start, ulong end, List<(ulong Start, ulong End)> holes)
    {
        ulong cursor = start;
        foreach (var hole in holes.Where(h => h.End > start && h.Start < end))
        {
            if (hole.Start > cursor)
            {
                yield return (cursor, hole.Start);
            }

            cursor = Math.Max(cursor, hole.End);
        }

        if (cursor < end)
        {
            yield return (cursor, end);
        }
    }

    private static List<E820Entry> Merge(IEnumerable<E820Entry> sorted)
    {
        var merged = new List<E820Entry>();
        foreach (var entry in sorted)
        {
            if (merged.Count > 0 && merged[^1].Type == entry.Type && merged[^1].End == entry.Address)
            {
                merged[^1] = merged[^1] with { Size = merged[^1].Size + entry.Size };
            }
            else
            {
                merged.Add(entry);
            }
        }

        return merged;
    }
}
