using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Traps;

public sealed class TrapTableTests
{
    private const ulong Com1Base = 0x3F8;
    private const ulong UartPorts = 8;
    private const ulong MmioBase = 0xD000_0000;
    private const ulong PageSize = 0x1000;
    private const ulong MmioMegabyte = 0x10_0000;

    private readonly TrapTable _table = new();
    private readonly TrapTableWriter _writer;

    public TrapTableTests() => _writer = _table.ClaimWriter();

    private static void Ignore(TrapAccess access)
    {
    }

    [Fact]
    public void The_writer_can_be_claimed_only_once()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => _table.ClaimWriter());

        Assert.Contains("already claimed", ex.Message, StringComparison.Ordinal);
        Assert.Same(_table, _writer.Table);
    }

    [Fact]
    public void Lookup_finds_the_region_holding_the_whole_access()
    {
        var handle = _writer.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore, name: "com1");

        Assert.Equal(handle, _table.Lookup(TrapBus.Pio, Com1Base, 1)?.Handle);
        Assert.Equal(handle, _table.Lookup(TrapBus.Pio, Com1Base + UartPorts - 2, 2)?.Handle);
        Assert.Null(_table.Lookup(TrapBus.Pio, Com1Base - 1, 1));
        Assert.Null(_table.Lookup(TrapBus.Mmio, Com1Base, 1));
    }

    [Fact]
    public void Access_straddling_the_end_of_a_region_is_not_found_by_lookup()
    {
        _writer.Register(TrapBus.Mmio, MmioBase, PageSize, Ignore, name: "a");
        _writer.Register(TrapBus.Mmio, MmioBase + PageSize, PageSize, Ignore, name: "b");

        Assert.Null(_table.Lookup(TrapBus.Mmio, MmioBase + PageSize - 2, 4));
        Assert.NotNull(_table.Lookup(TrapBus.Mmio, MmioBase + PageSize - 4, 4));
    }

    [Fact]
    public void Lookup_finds_small_regions_sharing_a_page_and_regions_larger_than_the_page_index()
    {
        ulong big = MmioMegabyte;
        var first = _writer.Register(TrapBus.Mmio, MmioBase, 0x100, Ignore, name: "first");
        var second = _writer.Register(TrapBus.Mmio, MmioBase + 0x100, 0x100, Ignore, name: "second");
        var large = _writer.Register(TrapBus.Mmio, MmioBase + 0x200, big, Ignore, name: "large");

        Assert.Equal(first, _table.Lookup(TrapBus.Mmio, MmioBase + 0xFC, 4)?.Handle);
        Assert.Equal(second, _table.Lookup(TrapBus.Mmio, MmioBase + 0x100, 4)?.Handle);
        Assert.Equal(large, _table.Lookup(TrapBus.Mmio, MmioBase + 0x200, 4)?.Handle);
        Assert.Equal(large, _table.Lookup(TrapBus.Mmio, MmioBase + 0x200 + big - 8, 8)?.Handle);
        Assert.Null(_table.Lookup(TrapBus.Mmio, MmioBase + 0x200 + big, 1));
    }

    [Fact]
    public void Lookups_stay_exact_while_the_lookup_indexes_grow_collide_and_shrink()
    {
        const int Devices = 300;
        var handles = new List<RegionHandle>();
        for (int i = 0; i < Devices; i++)
        {
            // Scattered small MMIO devices and 4-port PIO devices, many sharing index slots.
            handles.Add(_writer.Register(TrapBus.Mmio, MmioBase + ((ulong)i * 7 * PageSize), 0x200, Ignore, name: $"m{i}"));
            handles.Add(_writer.Register(TrapBus.Pio, (ulong)i * 8, 4, Ignore, name: $"p{i}"));
        }

        for (int i = 0; i < Devices; i += 3)
        {
            _writer.Unregister(handles[2 * i]);
            _writer.Unregister(handles[(2 * i) + 1]);
        }

        for (int i = 0; i < Devices; i++)
        {
            bool removed = i % 3 == 0;
            ulong mmio = MmioBase + ((ulong)i * 7 * PageSize);
            Assert.Equal(removed ? null : handles[2 * i], _table.Lookup(TrapBus.Mmio, mmio + 0x1FC, 4)?.Handle);
            Assert.Null(_table.Lookup(TrapBus.Mmio, mmio + 0x200, 4));
            Assert.Equal(removed ? null : handles[(2 * i) + 1], _table.Lookup(TrapBus.Pio, ((ulong)i * 8) + 3, 1)?.Handle);
            Assert.Null(_table.Lookup(TrapBus.Pio, ((ulong)i * 8) + 4, 1));
        }
    }

    [Theory]
    [InlineData(TrapBus.Pio, Com1Base)]
    [InlineData(TrapBus.Mmio, MmioBase)]
    public void The_hot_path_index_follows_the_current_decoding_version(TrapBus bus, ulong at)
    {
        ulong elsewhere = at + 0x1000;
        var control = _writer.Control(_writer.Register(bus, at, UartPorts, Ignore));
        Assert.Same(control.Region, _table.IndexedAt(bus, at));

        control.Move(elsewhere);
        Assert.Null(_table.IndexedAt(bus, at));
        Assert.Same(control.Region, _table.IndexedAt(bus, elsewhere));

        _writer.Repoint(control.Handle, Ignore);
        Assert.Same(control.Region, _table.IndexedAt(bus, elsewhere));

        control.SetEnabled(false);
        Assert.Null(_table.IndexedAt(bus, elsewhere));
    }

    [Fact]
    public void Overlapping_registration_is_rejected_naming_both_regions()
    {
        _writer.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore, name: "com1");

        var ex = Assert.Throws<TrapRegistrationException>(() => _writer.Register(TrapBus.Pio, Com1Base + 4, UartPorts, Ignore, name: "intruder"));

        Assert.Contains("'intruder'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'com1'", ex.Message, StringComparison.Ordinal);
        Assert.Single(_table.Regions(TrapBus.Pio));
    }

    [Fact]
    public void Same_range_on_the_other_bus_does_not_conflict()
    {
        _writer.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore);
        _writer.Register(TrapBus.Mmio, Com1Base, UartPorts, Ignore);

        Assert.Single(_table.Regions(TrapBus.Pio));
        Assert.Single(_table.Regions(TrapBus.Mmio));
    }

    [Fact]
    public void Zero_length_wrapping_and_out_of_range_port_regions_are_rejected()
    {
        Assert.Contains("zero length", Assert.Throws<TrapRegistrationException>(() => _writer.Register(TrapBus.Mmio, MmioBase, 0, Ignore, name: "empty")).Message, StringComparison.Ordinal);
        Assert.Contains("wraps", Assert.Throws<TrapRegistrationException>(() => _writer.Register(TrapBus.Mmio, ulong.MaxValue - 1, 4, Ignore, name: "wrap")).Message, StringComparison.Ordinal);
        Assert.Contains("beyond port", Assert.Throws<TrapRegistrationException>(() => _writer.Register(TrapBus.Pio, TrapTable.MaxPort - 1, 4, Ignore, name: "high")).Message, StringComparison.Ordinal);
        Assert.Empty(_table.Regions(TrapBus.Mmio));
        Assert.Empty(_table.Regions(TrapBus.Pio));
    }

    [Fact]
    public void Region_ending_at_the_top_of_the_address_space_is_found_without_overflow()
    {
        var handle = _writer.Register(TrapBus.Mmio, ulong.MaxValue - PageSize + 1, PageSize, Ignore);

        Assert.Equal(handle, _table.Lookup(TrapBus.Mmio, ulong.MaxValue - 7, 8)?.Handle);
        Assert.Null(_table.Lookup(TrapBus.Mmio, ulong.MaxValue - 3, 8));
    }

    [Fact]
    public void Region_at_the_last_ports_is_found_and_ports_beyond_the_bus_are_not()
    {
        var handle = _writer.Register(TrapBus.Pio, TrapTable.MaxPort - 3, 4, Ignore);

        Assert.Equal(handle, _table.Lookup(TrapBus.Pio, TrapTable.MaxPort - 3, 4)?.Handle);
        Assert.Null(_table.Lookup(TrapBus.Pio, TrapTable.MaxPort, 2));
        Assert.Null(_table.Lookup(TrapBus.Pio, TrapTable.MaxPort + 1, 1));
    }

    [Fact]
    public void Checked_move_relocates_a_region_and_keeps_its_counters()
    {
        var handle = _writer.Register(TrapBus.Mmio, MmioBase, PageSize, Ignore);
        var counters = _table.Find(handle)!.Counters;

        _writer.Move(handle, MmioBase + (16 * PageSize));

        Assert.Null(_table.Lookup(TrapBus.Mmio, MmioBase, 4));
        var moved = _table.Lookup(TrapBus.Mmio, MmioBase + (16 * PageSize), 4);
        Assert.Equal(handle, moved?.Handle);
        Assert.Same(counters, moved!.Counters);
    }

    [Fact]
    public void Checked_move_onto_a_decoding_region_is_rejected_and_leaves_the_table_unchanged()
    {
        var a = _writer.Register(TrapBus.Mmio, MmioBase, PageSize, Ignore, name: "a");
        _writer.Register(TrapBus.Mmio, MmioBase + PageSize, PageSize, Ignore, name: "b");

        var ex = Assert.Throws<TrapRegistrationException>(() => _writer.Move(a, MmioBase + (PageSize / 2)));

        Assert.Contains("'a'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(MmioBase, _table.Find(a)!.Base);
        Assert.Equal(a, _table.Lookup(TrapBus.Mmio, MmioBase, 4)?.Handle);
    }

    [Fact]
    public void Unregister_removes_the_region_and_reports_unknown_handles()
    {
        var handle = _writer.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore);

        Assert.True(_writer.Unregister(handle));
        Assert.False(_writer.Unregister(handle));
        Assert.Null(_table.Lookup(TrapBus.Pio, Com1Base, 1));
        Assert.Null(_table.Find(handle));
    }

    [Fact]
    public void Region_registered_disabled_does_not_decode_and_may_overlap_until_enabled()
    {
        var fixedRegion = _writer.Register(TrapBus.Mmio, MmioBase, PageSize, Ignore, name: "fixed");
        var bar0 = _writer.Register(TrapBus.Mmio, 0, PageSize, Ignore, name: "bar0", enabled: false);
        var bar1 = _writer.Register(TrapBus.Mmio, MmioBase, PageSize, Ignore, name: "bar1", enabled: false);

        var regions = _table.Regions(TrapBus.Mmio);

        Assert.Equal([bar0, fixedRegion, bar1], regions.Select(r => r.Handle));
        Assert.False(_table.Find(bar0)!.IsDecoding);
        Assert.False(_table.Find(bar0)!.IsEnabled);
        Assert.Null(_table.Lookup(TrapBus.Mmio, 0, 4));
        Assert.Equal(fixedRegion, _table.Lookup(TrapBus.Mmio, MmioBase, 4)?.Handle);
    }

    [Fact]
    public void Writer_quarantine_and_release_change_no_snapshot()
    {
        var handle = _writer.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore);
        var published = _table.Snapshot(TrapBus.Pio);

        Assert.True(_writer.Quarantine(handle));
        Assert.True(_table.Find(handle)!.IsQuarantined);
        Assert.True(_writer.Release(handle));

        Assert.False(_table.Find(handle)!.IsQuarantined);
        Assert.Same(published, _table.Snapshot(TrapBus.Pio));
        Assert.False(_writer.Quarantine(new RegionHandle(12345)));
    }

    [Fact]
    public void Control_of_an_unknown_handle_is_refused()
    {
        Assert.Throws<KeyNotFoundException>(() => _writer.Control(new RegionHandle(42)));
    }

    [Fact]
    public void Listener_refusal_rejects_the_registration()
    {
        var listener = new RecordingListener();
        var table = new TrapTable(maxVcpus: 1, listener);
        var writer = table.ClaimWriter();

        Assert.Throws<TrapRegistrationException>(() => writer.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore, TrapFlags.Coalesce));
        Assert.Empty(table.Regions(TrapBus.Pio));
        writer.Register(TrapBus.Pio, Com1Base, UartPorts, Ignore);
        Assert.Single(table.Regions(TrapBus.Pio));
    }

    [Fact]
    public void Listener_hears_each_decoding_placement_start_and_stop()
    {
        var listener = new RecordingListener();
        var table = new TrapTable(maxVcpus: 1, listener);
        var writer = table.ClaimWriter();
        var fixedRegion = writer.Register(TrapBus.Mmio, MmioBase, PageSize, Ignore, name: "fixed");
        var bar = writer.Register(TrapBus.Mmio, 0, PageSize, Ignore, name: "bar", enabled: false);
        var control = writer.Control(bar);

        control.Place(MmioBase, enabled: true);
        writer.Unregister(fixedRegion);
        control.Move(2 * MmioBase);
        control.SetEnabled(false);

        Assert.Equal(
            [
                $"start fixed 0x{MmioBase:X}",
                $"stop fixed 0x{MmioBase:X}",
                $"start bar 0x{MmioBase:X}",
                $"stop bar 0x{MmioBase:X}",
                $"start bar 0x{2 * MmioBase:X}",
                $"stop bar 0x{2 * MmioBase:X}",
            ],
            listener.Events);
    }

    private sealed class RecordingListener : ITrapRegionListener
    {
        public List<string> Events { get; } = [];

        public void OnRegistering(TrapRegion region)
        {
            if (region.Bus == TrapBus.Pio && region.Flags.HasFlag(TrapFlags.Coalesce))
            {
                throw new TrapRegistrationException($"{region} asks for coalescing the kernel does not offer");
            }
        }

        public void OnDecodeStarted(TrapRegion region) => Events.Add($"start {region.Name} 0x{region.Base:X}");

        public void OnDecodeStopped(TrapRegion region) => Events.Add($"stop {region.Name} 0x{region.Base:X}");
    }
}
