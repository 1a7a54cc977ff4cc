using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Layout;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ActorVmm.Machine.Tests.Boot;

public sealed class E820TableTests
{
    private const ulong MiB = 1UL << 20;
    private const ulong GiB = 1UL << 30;

    [Fact]
    public void Small_guest_gets_low_RAM_the_legacy_area_reserved_the_rest_of_RAM_and_the_fixed_windows()
    {
        var layout = MemoryMap.X86.Layout(256 * MiB);

        var table = E820Table.Build(layout);

        Assert.Equal(
            [
                new E820Entry(0, X86MemoryMap.LegacyVgaBiosBase, E820Type.Ram),
                new E820Entry(X86MemoryMap.LegacyVgaBiosBase, X86MemoryMap.LegacyVgaBiosSize, E820Type.Reserved),
                new E820Entry(X86MemoryMap.LegacyVgaBiosBase + X86MemoryMap.LegacyVgaBiosSize, (256 * MiB) - X86MemoryMap.LegacyVgaBiosBase - X86MemoryMap.LegacyVgaBiosSize, E820Type.Ram),
                new E820Entry(X86MemoryMap.FramebufferBase, X86MemoryMap.FramebufferSize, E820Type.Reserved),
                new E820Entry(X86MemoryMap.IoApicBase, X86MemoryMap.ApicSize, E820Type.Reserved),
                new E820Entry(X86MemoryMap.LocalApicBase, X86MemoryMap.ApicSize, E820Type.Reserved),
                new E820Entry(X86MemoryMap.KvmIdentityMapAddress, X86MemoryMap.KvmPrivateSize, E820Type.Reserved),
            ],
            table);
    }

    [Fact]
    public void RAM_beyond_the_hole_is_reported_from_4_GiB()
    {
        const ulong Ram = 4 * GiB;
        var layout = MemoryMap.X86.Layout(Ram);

        var table = E820Table.Build(layout);

        var high = Assert.Single(table, e => e.Address >= X86MemoryMap.FourGiB);
        Assert.Equal(new E820Entry(X86MemoryMap.FourGiB, Ram - X86MemoryMap.MmioHoleStart, E820Type.Ram), high);
        Assert.Contains(table, e => e.Type == E820Type.Ram && e.End == X86MemoryMap.MmioHoleStart);
    }

    [Fact]
    public void An_extra_reserved_range_inside_RAM_is_carved_out_and_merged_with_its_neighbour()
    {
        var layout = MemoryMap.X86.Layout(64 * MiB);
        const ulong Ebda = 0x9_FC00;

        var table = E820Table.Build(layout, [(Ebda, X86MemoryMap.LegacyVgaBiosBase - Ebda)]);

        Assert.Equal(new E820Entry(0, Ebda, E820Type.Ram), table[0]);
        Assert.Equal(new E820Entry(Ebda, X86MemoryMap.LegacyVgaBiosBase + X86MemoryMap.LegacyVgaBiosSize - Ebda, E820Type.Reserved), table[1]);
    }

    [Property(MaxTest = 200)]
    public Property Any_RAM_size_gives_a_sorted_disjoint_table_whose_RAM_is_the_layout_RAM_minus_the_reserved_areas()
    {
        ulong maxPages = 64 * GiB / MemoryMap.PageSize;
        var pages = Gen.Choose(1, (int)maxPages).Select(p => (ulong)p).ToArbitrary();
        var mp = (Address: MpTable.DefaultAddress, Size: MpTable.MaxSize);
        return Prop.ForAll(pages, count =>
        {
            var layout = MemoryMap.X86.Layout(count * MemoryMap.PageSize);
            var table = E820Table.Build(layout, [mp]);
            bool sorted = table.Zip(table.Skip(1)).All(p => p.First.End <= p.Second.Address);
            bool merged = table.Zip(table.Skip(1)).All(p => p.First.End != p.Second.Address || p.First.Type != p.Second.Type);
            ulong ram = table.Where(e => e.Type == E820Type.Ram).Aggregate(0UL, (sum, e) => sum + e.Size);
            ulong reservedInRam = layout.RamSlots.Aggregate(0UL, (sum, s) => sum + table
                .Where(e => e.Type == E820Type.Reserved)
                .Aggregate(0UL, (inner, e) => inner + Overlap(e.Address, e.End, s.GuestPhysicalAddress, s.GuestPhysicalAddress + s.Size)));
            bool ramInSlots = table.Where(e => e.Type == E820Type.Ram)
                .All(e => layout.RamSlots.Any(s => e.Address >= s.GuestPhysicalAddress && e.End <= s.GuestPhysicalAddress + s.Size));
            return sorted && merged && ramInSlots && ram == layout.RamSize - reservedInRam && table.Count <= BootParamsConstants.E820_MAX_ENTRIES_ZEROPAGE;
        });
    }

    private static ulong Overlap(ulong a, ulong aEnd, ulong b, ulong bEnd) => Math.Min(aEnd, bEnd) > Math.Max(a, b) ? Math.Min(aEnd, bEnd) - Math.Max(a, b) : 0;
}
