using ActorVmm.Devices.Pci;

namespace ActorVmm.Devices.Tests.Pci;

public sealed class PciBarTests
{
    private const ulong IoAddress = 0x6200;
    private const uint Memory32Address = 0xD200_0000;
    private const ulong Memory64Address = 0x1_0000_0000_4000;

    private readonly PciTestRig _rig = new();

    private PciFunction Function => _rig.Function;

    private const uint Memory64Low = unchecked((uint)Memory64Address);
    private const uint Memory64High = (uint)(Memory64Address >> 32);

    private static uint SizeMask(ulong size) => unchecked((uint)~(size - 1));

    private static int Low(int bar) => PciHeader.Bar(bar);

    private static int High(int bar) => PciHeader.Bar(bar + 1);

    [Fact]
    public void Bars_read_their_type_bits_at_power_on()
    {
        Assert.Equal(PciBarBits.IoSpace, Function.ReadConfig(Low(TestPciDevice.IoBar), 4));
        Assert.Equal(0u, Function.ReadConfig(Low(TestPciDevice.Memory32Bar), 4));
        Assert.Equal(PciBarBits.MemoryType64 | PciBarBits.Prefetchable, Function.ReadConfig(Low(TestPciDevice.Memory64Bar), 4));
        Assert.Equal(0u, Function.ReadConfig(High(TestPciDevice.Memory64Bar), 4));
    }

    [Fact]
    public void Io_bar_sizes_to_its_mask_with_the_io_bit()
    {
        Function.WriteConfig(Low(TestPciDevice.IoBar), 4, PciBarBits.SizingPattern);
        Assert.Equal(SizeMask(TestPciDevice.IoBarSize) | PciBarBits.IoSpace, Function.ReadConfig(Low(TestPciDevice.IoBar), 4));
    }

    [Fact]
    public void Memory32_bar_sizes_to_its_mask_with_type_bits_0()
    {
        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, PciBarBits.SizingPattern);
        Assert.Equal(SizeMask(TestPciDevice.Memory32BarSize), Function.ReadConfig(Low(TestPciDevice.Memory32Bar), 4));
    }

    [Fact]
    public void Memory64_bar_sizes_both_halves_and_keeps_64_bit_prefetchable_type()
    {
        Function.WriteConfig(Low(TestPciDevice.Memory64Bar), 4, PciBarBits.SizingPattern);
        Function.WriteConfig(High(TestPciDevice.Memory64Bar), 4, PciBarBits.SizingPattern);
        Assert.Equal(SizeMask(TestPciDevice.Memory64BarSize) | PciBarBits.MemoryType64 | PciBarBits.Prefetchable, Function.ReadConfig(Low(TestPciDevice.Memory64Bar), 4));
        Assert.Equal(uint.MaxValue, Function.ReadConfig(High(TestPciDevice.Memory64Bar), 4));
    }

    [Fact]
    public void Bar_larger_than_4_GiB_sizes_through_its_high_half()
    {
        const ulong size = 1UL << 33;
        var rig = new PciTestRig(TestPciDevice.Definition with { Bars = [new PciBarDefinition(0, PciBarKind.Memory64, size)], Msix = null });
        rig.Function.WriteConfig(Low(0), 4, PciBarBits.SizingPattern);
        rig.Function.WriteConfig(High(0), 4, PciBarBits.SizingPattern);
        Assert.Equal(PciBarBits.MemoryType64, rig.Function.ReadConfig(Low(0), 4));
        Assert.Equal((uint)(~(size - 1) >> 32), rig.Function.ReadConfig(High(0), 4));

        const uint high = 4;
        rig.Function.WriteConfig(High(0), 4, high);
        rig.Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);
        Assert.Equal(new PciBarPlacement((ulong)high << 32, true), rig.Placements[0].Current);
    }

    [Fact]
    public void Every_bar_reports_unplaced_at_construction()
    {
        Assert.All(_rig.Placements.Values, p => Assert.Equal(PciBarPlacement.Unplaced, Assert.Single(p.Calls)));
    }

    [Fact]
    public void Programmed_bar_is_placed_disabled_until_its_decode_bit_is_set()
    {
        var placement = _rig.Placements[TestPciDevice.Memory32Bar];
        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, Memory32Address);
        Assert.Equal(new PciBarPlacement(Memory32Address, false), placement.Current);

        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);
        Assert.Equal(new PciBarPlacement(Memory32Address, true), placement.Current);

        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.None);
        Assert.Equal(new PciBarPlacement(Memory32Address, false), placement.Current);
    }

    [Fact]
    public void Io_decode_bit_places_only_io_bars()
    {
        Function.WriteConfig(Low(TestPciDevice.IoBar), 4, (uint)IoAddress);
        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, Memory32Address);
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.IoSpace);
        Assert.Equal(new PciBarPlacement(IoAddress, true), _rig.Placements[TestPciDevice.IoBar].Current);
        Assert.Equal(new PciBarPlacement(Memory32Address, false), _rig.Placements[TestPciDevice.Memory32Bar].Current);
    }

    [Fact]
    public void Moving_an_enabled_bar_reports_the_new_base_once()
    {
        const uint moved = Memory32Address + 0x10_0000;
        var placement = _rig.Placements[TestPciDevice.Memory32Bar];
        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, Memory32Address);
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);
        int calls = placement.Calls.Count;

        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, moved);
        Assert.Equal(calls + 1, placement.Calls.Count);
        Assert.Equal(new PciBarPlacement(moved, true), placement.Current);
        Assert.Equal(placement.Current, Function.Placement(TestPciDevice.Memory32Bar));
    }

    [Fact]
    public void Writes_that_change_nothing_report_nothing()
    {
        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, Memory32Address);
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);
        int calls = _rig.Placements.Values.Sum(p => p.Calls.Count);
        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, Memory32Address | 0xFFF);
        Function.WriteConfig(PciHeader.CacheLineSize, 1, 0x10);
        Function.WriteConfig(PciHeader.Command, 2, (uint)(PciCommand.MemorySpace | PciCommand.BusMaster));
        Assert.Equal(calls, _rig.Placements.Values.Sum(p => p.Calls.Count));
    }

    [Fact]
    public void Bar_being_sized_is_never_placed_even_with_decoding_on()
    {
        var placement = _rig.Placements[TestPciDevice.Memory32Bar];
        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, Memory32Address);
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);

        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, PciBarBits.SizingPattern);
        Assert.Equal(PciBarPlacement.Unplaced, placement.Current);

        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, Memory32Address);
        Assert.Equal(new PciBarPlacement(Memory32Address, true), placement.Current);
    }

    [Fact]
    public void Half_sized_64_bit_bar_is_never_placed()
    {
        var placement = _rig.Placements[TestPciDevice.Memory64Bar];
        Function.WriteConfig(Low(TestPciDevice.Memory64Bar), 4, Memory64Low);
        Function.WriteConfig(High(TestPciDevice.Memory64Bar), 4, Memory64High);
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);
        Assert.Equal(new PciBarPlacement(Memory64Address, true), placement.Current);

        // Linux's __pci_read_base: size the low half, restore it, size the high half, restore it.
        var seen = new List<PciBarPlacement>();
        void Step(int register, uint value)
        {
            Function.WriteConfig(register, 4, value);
            seen.Add(placement.Current!.Value);
        }

        Step(Low(TestPciDevice.Memory64Bar), PciBarBits.SizingPattern);
        Step(Low(TestPciDevice.Memory64Bar), Memory64Low);
        Step(High(TestPciDevice.Memory64Bar), PciBarBits.SizingPattern);
        Step(High(TestPciDevice.Memory64Bar), Memory64High);
        Assert.Equal([PciBarPlacement.Unplaced, new(Memory64Address, true), PciBarPlacement.Unplaced, new(Memory64Address, true)], seen);
    }

    [Fact]
    public void Bar_at_address_0_is_unassigned()
    {
        Function.WriteConfig(PciHeader.Command, 2, (uint)(PciCommand.IoSpace | PciCommand.MemorySpace));
        Assert.All(_rig.Placements.Values, p => Assert.Equal(PciBarPlacement.Unplaced, p.Current));
    }

    [Fact]
    public void Io_bar_past_64_KiB_is_not_placed()
    {
        Function.WriteConfig(Low(TestPciDevice.IoBar), 4, 0x1_0000);
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.IoSpace);
        Assert.Equal(PciBarPlacement.Unplaced, _rig.Placements[TestPciDevice.IoBar].Current);

        ulong last = PciIoSpace.LastPort + 1 - TestPciDevice.IoBarSize;
        Function.WriteConfig(Low(TestPciDevice.IoBar), 4, (uint)last);
        Assert.Equal(new PciBarPlacement(last, true), _rig.Placements[TestPciDevice.IoBar].Current);
    }

    [Fact]
    public void Byte_writes_build_a_bar_address_one_lane_at_a_time()
    {
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);
        for (int lane = 0; lane < 4; lane++)
        {
            Function.WriteConfig(Low(TestPciDevice.Memory32Bar) + lane, 1, (byte)(Memory32Address >> (8 * lane)));
        }

        Assert.Equal(new PciBarPlacement(Memory32Address, true), _rig.Placements[TestPciDevice.Memory32Bar].Current);
    }

    [Fact]
    public void Reset_unplaces_every_bar()
    {
        Function.WriteConfig(Low(TestPciDevice.Memory32Bar), 4, Memory32Address);
        Function.WriteConfig(PciHeader.Command, 2, (uint)PciCommand.MemorySpace);
        Function.Reset();
        Assert.Equal(PciBarPlacement.Unplaced, _rig.Placements[TestPciDevice.Memory32Bar].Current);
    }

    [Fact]
    public void Placement_of_a_bar_the_function_lacks_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Function.Placement(TestPciDevice.Memory64Bar + 1));
    }
}
