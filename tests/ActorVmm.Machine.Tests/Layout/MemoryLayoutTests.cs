using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Machine.Tests.Layout;

public sealed class MemoryLayoutTests
{
    private const ulong MiB = 1UL << 20;
    private const ulong GiB = 1UL << 30;
    private const ulong SmallRam = 512 * MiB;
    private const ulong LargeRam = (8 * GiB) + (256 * MiB) + (4 * MiB);

    // RAM above 4 GiB ends at exactly 9 GiB with this much (3.25 GiB below the hole, 5 GiB from 4 GiB).
    private const ulong RamEndingAt9GiB = (8 * GiB) + (256 * MiB);
    private const ulong HundredsOfMiB = 256 * MiB;

    [Fact]
    public void X86_32bit_PCI_window_gets_hundreds_of_MiB_of_the_hole_beside_the_kept_framebuffer_window()
    {
        var layout = MemoryMap.X86.Layout(SmallRam);
        var pci = layout.Window("pci-mmio");
        var framebuffer = layout.Window("framebuffer");

        Assert.True(pci.Size >= HundredsOfMiB, pci.ToString());
        Assert.Equal(MemoryRegionKind.PciMmio, pci.Kind);
        Assert.InRange(pci.Base, X86MemoryMap.MmioHoleStart, X86MemoryMap.FourGiB - 1);
        Assert.True(pci.Last < X86MemoryMap.IoApicBase, pci.ToString());
        Assert.Equal((X86MemoryMap.MmioHoleStart, X86MemoryMap.FramebufferSize), (framebuffer.Base, framebuffer.Size));
    }

    [Theory]
    [InlineData(SmallRam, X86MemoryMap.FourGiB)]
    [InlineData(X86MemoryMap.MmioHoleStart, X86MemoryMap.FourGiB)]
    [InlineData(RamEndingAt9GiB, 9 * GiB)]
    [InlineData(LargeRam, 10 * GiB)]
    public void X86_64bit_PCI_window_follows_RAM_aligned_to_1GiB_and_never_below_4GiB(ulong ram, ulong expectedBase)
    {
        var layout = MemoryMap.X86.Layout(ram);

        var window = layout.Window(X86MemoryMap.PciMmio64Name);

        Assert.Equal(MemoryRegionKind.PciMmio64, window.Kind);
        Assert.Equal(expectedBase, window.Base);
        Assert.Equal(X86MemoryMap.PciMmio64Size, window.Size);
        Assert.True(window.Base >= layout.RamEnd, $"{window} starts inside RAM ending at 0x{layout.RamEnd:X}");
    }

    [Fact]
    public void X86_reserves_the_pages_KVM_keeps_for_itself_inside_the_hole()
    {
        var layout = MemoryMap.X86.Layout(SmallRam);

        var found = layout.Find(TrapBus.Mmio, X86MemoryMap.KvmTssAddress);

        Assert.Equal(MemoryRegionKind.Reserved, found?.Kind);
        Assert.True(found!.Contains(X86MemoryMap.KvmIdentityMapAddress));
        Assert.True(found.Contains(X86MemoryMap.KvmTssAddress + (3 * MemoryMap.PageSize) - 1));
    }

    [Fact]
    public void Address_space_lists_RAM_ranges_and_MMIO_windows_in_address_order_for_boot_tables()
    {
        var layout = MemoryMap.X86.Layout(LargeRam);

        var space = layout.AddressSpace;

        Assert.Equal(space.OrderBy(r => r.Base), space);
        Assert.Equal([MemoryLayout.RamName(0), MemoryLayout.RamName(1)], space.Where(r => r.Kind == MemoryRegionKind.Ram).Select(r => r.Name));
        Assert.All(space, r => Assert.Equal(TrapBus.Mmio, r.Bus));
        Assert.DoesNotContain(space, r => r.Kind == MemoryRegionKind.PortIo);
        Assert.Equal(layout.Windows.Count(w => w.Bus == TrapBus.Mmio) + layout.RamSlots.Count, space.Count);
        Assert.Equal(MemoryRegionKind.Ram, layout.Find(TrapBus.Mmio, X86MemoryMap.FourGiB)?.Kind);
        Assert.Equal(MemoryRegionKind.Reserved, layout.Find(TrapBus.Mmio, X86MemoryMap.LegacyVgaBiosBase)?.Kind);
        Assert.Null(layout.Find(TrapBus.Mmio, layout.Window(X86MemoryMap.PciMmio64Name).Last + 1));
    }

    [Fact]
    public void VM_spec_uses_the_x86_map_unless_told_otherwise()
    {
        var x86 = new VmSpec("x86", SmallRam);
        var arm64 = new VmSpec("arm64", SmallRam, Map: MemoryMap.Arm64);

        Assert.Same(MemoryMap.X86, x86.Layout.Map);
        Assert.Equal(0UL, x86.Layout.RamSlots[0].GuestPhysicalAddress);
        Assert.Equal(Arm64MemoryMap.RamBase, arm64.Layout.RamSlots[0].GuestPhysicalAddress);
    }

    [Fact]
    public void VM_spec_with_more_RAM_than_its_map_takes_is_refused_with_a_clear_error()
    {
        var spec = new VmSpec("huge", Arm64MemoryMap.MaxRam + MemoryMap.PageSize, Map: MemoryMap.Arm64);

        var ex = Assert.Throws<ArgumentException>(spec.Validate);

        Assert.Contains(MemoryMap.Arm64.Architecture, ex.Message, StringComparison.Ordinal);
    }
}
