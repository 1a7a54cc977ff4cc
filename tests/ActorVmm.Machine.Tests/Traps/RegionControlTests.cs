using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Traps;

/// <summary>PCI placement rules: BAR moves and decode enables never throw; overlaps shadow the newcomer until the conflict is gone.</summary>
public sealed class RegionControlTests
{
    private const ulong BarSize = 0x1000;
    private const ulong BarA = 0xE000_0000;
    private const ulong BarB = 0xE010_0000;
    private const ulong FixedBase = 0xFEC0_0000;
    private const ulong IoBar = 0xC000;
    private const ulong IoBarSize = 0x20;

    private readonly TrapTable _table = new();
    private readonly TrapTableWriter _writer;

    public RegionControlTests() => _writer = _table.ClaimWriter();

    private static void Ignore(TrapAccess access)
    {
    }

    private RegionControl Bar(ulong at, string name, bool enabled = true, TrapBus bus = TrapBus.Mmio, ulong size = BarSize) =>
        _writer.Control(_writer.Register(bus, at, size, Ignore, name: name, enabled: enabled));

    private RegionHandle? DecoderAt(ulong address, TrapBus bus = TrapBus.Mmio) => _table.Lookup(bus, address, 1)?.Handle;

    [Fact]
    public void Move_decodes_at_the_new_base_only_as_soon_as_it_returns()
    {
        var bar = Bar(BarA, "bar");

        bar.Move(BarB);

        Assert.Equal(BarB, bar.Base);
        Assert.True(bar.IsDecoding);
        Assert.Null(DecoderAt(BarA));
        Assert.Equal(bar.Handle, DecoderAt(BarB + BarSize - 1));
    }

    [Fact]
    public void Disable_stops_decoding_in_place_and_enable_resumes_it()
    {
        var bar = Bar(BarA, "bar");

        bar.SetEnabled(false);
        Assert.False(bar.IsEnabled);
        Assert.False(bar.IsDecoding);
        Assert.Null(DecoderAt(BarA));

        bar.SetEnabled(true);
        Assert.True(bar.IsDecoding);
        Assert.Equal(bar.Handle, DecoderAt(BarA));
    }

    [Fact]
    public void Place_moves_and_enables_a_disabled_bar_in_one_call()
    {
        var bar = Bar(0, "bar", enabled: false);

        bar.Place(BarA, enabled: true);

        Assert.Equal((BarA, true, true), (bar.Base, bar.IsEnabled, bar.IsDecoding));
        Assert.Equal(bar.Handle, DecoderAt(BarA));
    }

    [Fact]
    public void Moving_onto_a_decoding_region_shadows_the_mover_and_the_other_keeps_decoding()
    {
        var fixedRegion = _writer.Register(TrapBus.Mmio, FixedBase, BarSize, Ignore, name: "ioapic");
        var bar = Bar(BarA, "bar");

        bar.Move(FixedBase - (BarSize / 2));

        Assert.True(bar.IsEnabled);
        Assert.False(bar.IsDecoding);
        Assert.True(bar.Region.IsShadowed);
        Assert.Equal(fixedRegion, DecoderAt(FixedBase));
        Assert.Null(DecoderAt(FixedBase - (BarSize / 2)));
        Assert.Null(DecoderAt(BarA));
    }

    [Fact]
    public void Enabling_onto_an_occupied_range_shadows_the_newcomer()
    {
        var first = Bar(BarA, "first");
        var second = Bar(BarA, "second", enabled: false);

        second.SetEnabled(true);

        Assert.True(first.IsDecoding);
        Assert.False(second.IsDecoding);
        Assert.Equal(first.Handle, DecoderAt(BarA));
    }

    [Fact]
    public void Shadowed_region_decodes_by_itself_once_the_other_moves_away()
    {
        var first = Bar(BarA, "first");
        var second = Bar(BarB, "second");
        second.Move(BarA);

        first.Move(FixedBase);

        Assert.True(second.IsDecoding);
        Assert.Equal(second.Handle, DecoderAt(BarA));
        Assert.Equal(first.Handle, DecoderAt(FixedBase));
    }

    [Fact]
    public void Shadowed_region_decodes_by_itself_once_the_other_is_disabled_or_removed()
    {
        var first = Bar(BarA, "first");
        var second = Bar(BarA, "second", enabled: false);
        second.SetEnabled(true);

        first.SetEnabled(false);
        Assert.Equal(second.Handle, DecoderAt(BarA));

        var third = Bar(BarB, "third");
        second.Move(BarB);
        Assert.False(second.IsDecoding);
        _writer.Unregister(third.Handle);
        Assert.Equal(second.Handle, DecoderAt(BarB));
    }

    [Fact]
    public void Of_two_shadowed_regions_the_one_placed_first_decodes_when_the_range_frees()
    {
        var holder = Bar(BarA, "holder");
        var early = Bar(BarB, "early");
        var late = Bar(FixedBase, "late");
        early.Move(BarA);
        late.Move(BarA + (BarSize / 2));

        _writer.Unregister(holder.Handle);

        Assert.True(early.IsDecoding);
        Assert.False(late.IsDecoding);
        Assert.Equal(early.Handle, DecoderAt(BarA + (BarSize / 2)));
    }

    [Fact]
    public void Decoding_region_is_never_evicted_when_a_shadowed_one_regains_its_range()
    {
        var holder = Bar(BarA, "holder");
        var waiting = Bar(BarB, "waiting", size: 2 * BarSize);
        waiting.Move(BarA);
        var newcomer = Bar(FixedBase, "newcomer");
        newcomer.Move(BarA + BarSize);
        Assert.True(newcomer.IsDecoding);

        holder.Move(FixedBase);

        // The waiting region overlaps the newcomer, which started decoding while the waiting one was shadowed.
        Assert.True(newcomer.IsDecoding);
        Assert.False(waiting.IsDecoding);
        Assert.Null(DecoderAt(BarA));
        Assert.Equal(newcomer.Handle, DecoderAt(BarA + BarSize));
    }

    [Fact]
    public void Wrapping_and_beyond_port_space_placements_do_not_decode_and_do_not_throw()
    {
        var mmio = Bar(BarA, "mmio");
        var io = Bar(IoBar, "io", bus: TrapBus.Pio, size: IoBarSize);

        mmio.Move(ulong.MaxValue - 0x10);
        io.Move(TrapTable.MaxPort - 0x10);

        Assert.False(mmio.IsDecoding);
        Assert.False(io.IsDecoding);
        Assert.Null(DecoderAt(ulong.MaxValue - 0x10));
        Assert.Null(DecoderAt(TrapTable.MaxPort - 0x10, TrapBus.Pio));
        Assert.Null(DecoderAt(BarA));

        io.Move(IoBar);
        Assert.Equal(io.Handle, DecoderAt(IoBar + IoBarSize - 1, TrapBus.Pio));
    }

    [Fact]
    public void Port_bar_moves_on_the_port_bus()
    {
        var io = Bar(IoBar, "io", bus: TrapBus.Pio, size: IoBarSize);

        io.Move(IoBar + 0x100);

        Assert.Null(DecoderAt(IoBar, TrapBus.Pio));
        Assert.Equal(io.Handle, DecoderAt(IoBar + 0x100, TrapBus.Pio));
        Assert.Equal(io.Handle, _table.Lookup(TrapBus.Pio, IoBar + 0x100 + IoBarSize - 4, 4)?.Handle);
        Assert.Null(_table.Lookup(TrapBus.Pio, IoBar + 0x100 + IoBarSize - 2, 4));
    }

    [Fact]
    public void Operations_after_unregistration_do_nothing()
    {
        var bar = Bar(BarA, "bar");
        _writer.Unregister(bar.Handle);

        bar.Place(BarB, enabled: true);
        bar.SetEnabled(true);

        Assert.False(bar.IsRegistered);
        Assert.False(bar.IsDecoding);
        Assert.Null(DecoderAt(BarB));
        Assert.Empty(_table.Regions(TrapBus.Mmio));
    }

    [Fact]
    public void Moving_a_disabled_region_changes_its_base_without_decoding()
    {
        var bar = Bar(0, "bar", enabled: false);

        bar.Move(BarA);

        Assert.Equal(BarA, bar.Base);
        Assert.False(bar.IsDecoding);
        Assert.Null(DecoderAt(BarA));
    }
}
