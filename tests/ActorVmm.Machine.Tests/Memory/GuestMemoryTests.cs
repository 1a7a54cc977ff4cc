using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;

namespace ActorVmm.Machine.Tests.Memory;

public sealed class GuestMemoryTests
{
    private const ulong Page = GuestMemoryRegion.PageSize;
    private const ulong GiB = 1UL << 30;
    private const ulong LargeRam = 8 * GiB;

    [Fact]
    public void RAM_of_a_layout_is_one_host_mapping_split_into_the_layout_s_slots()
    {
        var layout = MemoryMap.X86.Layout(LargeRam);

        using var memory = GuestMemory.Create(layout);

        Assert.Equal(layout.RamSlots.Select(s => (s.Slot, s.GuestPhysicalAddress, s.Size, s.HostOffset)), memory.Regions.Select(r => (r.Slot, r.GuestPhysicalAddress, r.Size, r.HostOffset)));
        Assert.Equal((nint)layout.RamSlots[1].HostOffset, memory.Regions[1].HostAddress - memory.Regions[0].HostAddress);
        Assert.Equal(LargeRam, memory.TotalSize);
    }

    [Fact]
    public void Markers_below_the_hole_and_at_4GiB_land_in_their_own_slots()
    {
        const ulong LowMarker = 0x1111_2222_3333_4444;
        const ulong HighMarker = 0x5555_6666_7777_8888;
        using var memory = GuestMemory.Create(MemoryMap.X86.Layout(LargeRam));

        memory.Write(X86MemoryMap.MmioHoleStart - sizeof(ulong), LowMarker);
        memory.Write(X86MemoryMap.FourGiB, HighMarker);

        Assert.Equal(LowMarker, memory.Read<ulong>(X86MemoryMap.MmioHoleStart - sizeof(ulong)));
        Assert.Equal(HighMarker, memory.Read<ulong>(X86MemoryMap.FourGiB));
        Assert.False(memory.IsRam(X86MemoryMap.MmioHoleStart, 1));
        Assert.Throws<GuestMemoryException>(() => memory.Read<byte>(X86MemoryMap.PciMmioBase));
    }

    private static readonly Dictionary<string, RamSlot[]> BadSlots = new()
    {
        ["empty"] = [new RamSlot(0, 0, 0, 0)],
        ["unaligned size"] = [new RamSlot(0, 0, Page + 1, 0)],
        ["unaligned address"] = [new RamSlot(0, 1, Page, 0)],
        ["unaligned host offset"] = [new RamSlot(0, 0, Page, 1)],
        ["wraps the address space"] = [new RamSlot(0, ulong.MaxValue - Page + 1, Page, 0)],
        ["guest overlap"] = [new RamSlot(0, 0, 2 * Page, 0), new RamSlot(1, Page, Page, 2 * Page)],
        ["host overlap"] = [new RamSlot(0, 0, 2 * Page, 0), new RamSlot(1, 4 * Page, Page, Page)],
        ["duplicate slot number"] = [new RamSlot(0, 0, Page, 0), new RamSlot(0, 2 * Page, Page, Page)],
        ["no slot"] = [],
    };

    public static TheoryData<string> BadSlotCases => [.. BadSlots.Keys];

    [Theory]
    [MemberData(nameof(BadSlotCases))]
    public void Unusable_slots_are_refused_with_a_clear_error(string why)
    {
        var ex = Assert.Throws<ArgumentException>(() => GuestMemory.Create(BadSlots[why]));
        Assert.Contains("slot", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Copies_run_on_across_slots_that_follow_each_other_in_guest_physical_space_but_not_across_a_gap()
    {
        // Slot 1 follows slot 0 in the guest but sits before it in the host mapping; slot 2 is after a one-page gap.
        using var memory = GuestMemory.Create([new RamSlot(0, 0, Page, Page), new RamSlot(1, Page, Page, 0), new RamSlot(2, 3 * Page, Page, 2 * Page)]);
        byte[] across = [1, 2, 3, 4];

        memory.Write(Page - 2, across);
        byte[] back = new byte[across.Length];
        memory.Read(Page - 2, back);

        Assert.Equal(across, back);
        Assert.Equal(across[..2], memory.GetSpan(Page - 2, 2).ToArray());
        Assert.Equal(across[2..], memory.GetSpan(Page, 2).ToArray());
        Assert.True(memory.IsRam(Page - 2, (ulong)across.Length));
        Assert.Throws<GuestMemoryException>(() => memory.Write((2 * Page) - 2, across));
        Assert.Equal(new byte[2], memory.GetSpan((2 * Page) - 2, 2).ToArray());
        Assert.False(memory.IsRam((3 * Page) - 2, (ulong)across.Length));
    }
}
