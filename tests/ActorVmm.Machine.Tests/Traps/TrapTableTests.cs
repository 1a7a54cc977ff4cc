using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Traps;

public sealed class TrapTableTests
{
    private const ulong Com1Base = 0x3F8;
    private const ulong UartPorts = 8;
    private const ulong MmioBase = 0xD000_0000;
    private const ulong PageSize = 0x1000;

    private static void Ignore(TrapAccess access)
    {
    }

    [Fact]
    public void Lookup_finds_the_region_holding_the_whole_access()
    {
        var table = new TrapTable();
        var handle = table.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore, name: "com1");

        Assert.Equal(handle, table.Lookup(TrapBus.Pio, Com1Base, 1)?.Handle);
        Assert.Equal(handle, table.Lookup(TrapBus.Pio, Com1Base + UartPorts - 2, 2)?.Handle);
        Assert.Null(table.Lookup(TrapBus.Pio, Com1Base - 1, 1));
        Assert.Null(table.Lookup(TrapBus.Mmio, Com1Base, 1));
    }

    [Fact]
    public void Access_straddling_the_end_of_a_region_is_unhandled()
    {
        var table = new TrapTable();
        table.Register(TrapBus.Mmio, MmioBase, PageSize, Ignore, name: "a");
        table.Register(TrapBus.Mmio, MmioBase + PageSize, PageSize, Ignore, name: "b");

        Assert.Null(table.Lookup(TrapBus.Mmio, MmioBase + PageSize - 2, 4));
        Assert.NotNull(table.Lookup(TrapBus.Mmio, MmioBase + PageSize - 4, 4));
    }

    [Fact]
    public void Overlapping_registration_is_rejected_naming_both_regions()
    {
        var table = new TrapTable();
        table.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore, name: "com1");

        var ex = Assert.Throws<TrapRegistrationException>(() => table.Register(TrapBus.Pio, Com1Base + 4, UartPorts, Ignore, name: "intruder"));

        Assert.Contains("'intruder'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'com1'", ex.Message, StringComparison.Ordinal);
        Assert.Single(table.Regions(TrapBus.Pio));
    }

    [Fact]
    public void Same_range_on_the_other_bus_does_not_conflict()
    {
        var table = new TrapTable();
        table.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore);
        table.Register(TrapBus.Mmio, Com1Base, UartPorts, Ignore);

        Assert.Single(table.Regions(TrapBus.Pio));
        Assert.Single(table.Regions(TrapBus.Mmio));
    }

    [Fact]
    public void Zero_length_wrapping_and_out_of_range_port_regions_are_rejected()
    {
        var table = new TrapTable();

        Assert.Contains("zero length", Assert.Throws<TrapRegistrationException>(() => table.Register(TrapBus.Mmio, MmioBase, 0, Ignore, name: "empty")).Message, StringComparison.Ordinal);
        Assert.Contains("wraps", Assert.Throws<TrapRegistrationException>(() => table.Register(TrapBus.Mmio, ulong.MaxValue - 1, 4, Ignore, name: "wrap")).Message, StringComparison.Ordinal);
        Assert.Contains("beyond port", Assert.Throws<TrapRegistrationException>(() => table.Register(TrapBus.Pio, TrapTable.MaxPort - 1, 4, Ignore, name: "high")).Message, StringComparison.Ordinal);
        Assert.Empty(table.Regions(TrapBus.Mmio));
        Assert.Empty(table.Regions(TrapBus.Pio));
    }

    [Fact]
    public void Region_ending_at_the_top_of_the_address_space_is_found_without_overflow()
    {
        var table = new TrapTable();
        var handle = table.Register(TrapBus.Mmio, ulong.MaxValue - PageSize + 1, PageSize, Ignore);

        Assert.Equal(handle, table.Lookup(TrapBus.Mmio, ulong.MaxValue - 7, 8)?.Handle);
        Assert.Null(table.Lookup(TrapBus.Mmio, ulong.MaxValue - 3, 8));
    }

    [Fact]
    public void Move_relocates_a_region_and_keeps_its_counters()
    {
        var table = new TrapTable();
        var handle = table.Register(TrapBus.Mmio, MmioBase, PageSize, Ignore);
        var counters = table.Find(handle)!.Counters;

        table.Move(handle, MmioBase + (16 * PageSize));

        Assert.Null(table.Lookup(TrapBus.Mmio, MmioBase, 4));
        var moved = table.Lookup(TrapBus.Mmio, MmioBase + (16 * PageSize), 4);
        Assert.Equal(handle, moved?.Handle);
        Assert.Same(counters, moved!.Counters);
    }

    [Fact]
    public void Move_onto_another_region_is_rejected_and_leaves_the_table_unchanged()
    {
        var table = new TrapTable();
        var a = table.Register(TrapBus.Mmio, MmioBase, PageSize, Ignore, name: "a");
        table.Register(TrapBus.Mmio, MmioBase + PageSize, PageSize, Ignore, name: "b");

        var ex = Assert.Throws<TrapRegistrationException>(() => table.Move(a, MmioBase + (PageSize / 2)));

        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(MmioBase, table.Find(a)!.Base);
    }

    [Fact]
    public void Unregister_removes_the_region_and_reports_unknown_handles()
    {
        var table = new TrapTable();
        var handle = table.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore);

        Assert.True(table.Unregister(handle));
        Assert.False(table.Unregister(handle));
        Assert.Null(table.Lookup(TrapBus.Pio, Com1Base, 1));
    }

    [Fact]
    public void Listener_refusal_rejects_the_registration()
    {
        var table = new TrapTable();
        table.AddListener(new RefuseCoalescedPio());

        Assert.Throws<TrapRegistrationException>(() => table.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore, TrapFlags.Coalesce));
        Assert.Empty(table.Regions(TrapBus.Pio));
        table.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore);
        Assert.Single(table.Regions(TrapBus.Pio));
    }

    private sealed class RefuseCoalescedPio : ITrapRegionListener
    {
        public void OnRegionAdding(TrapRegion region)
        {
            if (region.Bus == TrapBus.Pio && region.Flags.HasFlag(TrapFlags.Coalesce))
            {
                throw new TrapRegistrationException($"{region} asks for coalescing the kernel does not offer");
            }
        }

        public void OnRegionRemoved(TrapRegion region)
        {
        }
    }
}
