using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ActorVmm.Machine.Tests.Layout;

public sealed class MemoryMapTests
{
    private const ulong MiB = 1024 * 1024;
    private const ulong GiB = 1024 * MiB;
    private const ulong SmallRam = 512 * MiB;
    private const ulong LargeRam = 8 * GiB;
    private const ulong FourGiB = 4 * GiB;
    private const ulong UnalignedRam = SmallRam + 1;
    private const ulong Arm64UartAddress = 0x0100_0000;
    private const ulong Arm64RtcAddress = 0x0101_0000;
    private const ulong Arm64RamStart = 2 * GiB;
    private const ulong X86HoleStart = 0xD000_0000;
    private const ushort Com1Port = 0x3F8;

    public static TheoryData<string> Architectures => new() { "x86_64", "arm64" };

    private static MemoryMap ByName(string arch) => arch == MemoryMap.X86.Architecture ? MemoryMap.X86 : MemoryMap.Arm64;

    [Fact]
    public void X86_RAM_below_the_hole_is_one_slot_from_zero()
    {
        var slots = MemoryMap.X86.RamSlots(SmallRam);

        var slot = Assert.Single(slots);
        Assert.Equal(0UL, slot.GuestPhysicalAddress);
        Assert.Equal(SmallRam, slot.Size);
    }

    [Fact]
    public void X86_RAM_that_reaches_the_hole_is_split_and_continues_at_4GiB()
    {
        var slots = MemoryMap.X86.RamSlots(LargeRam);

        Assert.Equal(2, slots.Count);
        Assert.Equal((0UL, X86HoleStart), (slots[0].GuestPhysicalAddress, slots[0].Size));
        Assert.Equal((FourGiB, LargeRam - X86HoleStart), (slots[1].GuestPhysicalAddress, slots[1].Size));
        Assert.Equal(X86HoleStart, slots[1].HostOffset);
        Assert.Equal(LargeRam, slots.Aggregate(0UL, (sum, s) => sum + s.Size));
    }

    [Fact]
    public void X86_RAM_exactly_filling_the_space_below_the_hole_needs_no_second_slot()
    {
        Assert.Single(MemoryMap.X86.RamSlots(X86HoleStart));
    }

    [Fact]
    public void X86_hole_holds_PCI_config_PCI_MMIO_and_virtio_windows_below_4GiB()
    {
        foreach (string name in new[] { "pci-config", "pci-mmio", "virtio-mmio", "ioapic", "local-apic" })
        {
            var region = MemoryMap.X86.Region(name);
            Assert.InRange(region.Base, X86HoleStart, FourGiB - 1);
            Assert.InRange(region.Last, X86HoleStart, FourGiB - 1);
        }

        Assert.Equal("pci-config", MemoryMap.X86.FindFixed(TrapBus.Mmio, X86MemoryMap.PciConfigBase)?.Name);
        Assert.Equal(MemoryRegionKind.PortIo, MemoryMap.X86.FindFixed(TrapBus.Pio, Com1Port)?.Kind);
    }

    [Fact]
    public void Arm64_places_UART_and_RTC_at_the_kvmtool_platform_addresses_and_RAM_at_2GiB()
    {
        Assert.Equal(Arm64UartAddress, MemoryMap.Arm64.Region("uart").Base);
        Assert.Equal(Arm64RtcAddress, MemoryMap.Arm64.Region("rtc").Base);
        var slot = Assert.Single(MemoryMap.Arm64.RamSlots(LargeRam));
        Assert.Equal(Arm64RamStart, slot.GuestPhysicalAddress);
        Assert.All(MemoryMap.Arm64.FixedRegions, r => Assert.True(r.Last < Arm64RamStart, r.ToString()));
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Fixed_windows_on_the_same_bus_never_overlap(string arch)
    {
        var map = ByName(arch);
        foreach (var bus in new[] { TrapBus.Pio, TrapBus.Mmio })
        {
            var sorted = map.FixedRegions.Where(r => r.Bus == bus).OrderBy(r => r.Base).ToArray();
            for (int i = 1; i < sorted.Length; i++)
            {
                Assert.True(sorted[i - 1].Last < sorted[i].Base, $"{sorted[i - 1]} overlaps {sorted[i]}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Zero_unaligned_or_oversized_RAM_is_refused_with_a_clear_error(string arch)
    {
        var map = ByName(arch);

        Assert.Throws<ArgumentOutOfRangeException>(() => map.RamSlots(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => map.RamSlots(UnalignedRam));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => map.RamSlots(map.MaxRamSize + MemoryMap.PageSize));
        Assert.Contains(map.Architecture, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_region_name_is_a_clear_error()
    {
        var ex = Assert.Throws<KeyNotFoundException>(() => MemoryMap.Arm64.Region("vga"));
        Assert.Contains("vga", ex.Message, StringComparison.Ordinal);
    }

    [Property]
    public Property Any_valid_RAM_size_is_fully_placed_in_RAM_slots_that_avoid_every_device_window()
    {
        int maxPages = (int)(Math.Min(X86MemoryMap.MaxRam, Arm64MemoryMap.MaxRam) / MemoryMap.PageSize);
        var pages = Gen.Choose(1, maxPages).Select(p => (ulong)p).ToArbitrary();
        return Prop.ForAll(pages, pageCount =>
        {
            ulong size = pageCount * MemoryMap.PageSize;
            return new[] { MemoryMap.X86, MemoryMap.Arm64 }.All(map =>
            {
                var layout = map.Layout(size);
                var slots = layout.RamSlots;
                bool total = slots.Aggregate(0UL, (sum, s) => sum + s.Size) == size;
                bool clear = slots.All(s => layout.Windows
                    .Where(r => r.Bus == TrapBus.Mmio && r.Kind != MemoryRegionKind.Reserved)
                    .All(r => !r.Overlaps(s.GuestPhysicalAddress, s.Last)));
                bool windowsApart = layout.Windows.All(a => layout.Windows.All(b => ReferenceEquals(a, b) || a.Bus != b.Bus || !a.Overlaps(b.Base, b.Last)));
                return total && clear && windowsApart;
            });
        });
    }
}
