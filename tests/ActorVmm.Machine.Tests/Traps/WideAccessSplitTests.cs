using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Traps;

/// <summary>
/// An access no single region holds is split into per-region pieces, as a PC chipset splits a wide
/// access to 8-bit ISA ports (and QEMU does): `out 0xF4, ax` reaches a one-byte port with its low byte.
/// </summary>
public sealed class WideAccessSplitTests
{
    private const ulong ExitPort = 0xF4;
    private const ulong Port = 0x60;
    private const ulong MmioBase = 0xFED0_0000;
    private const byte EmptyBus = 0xFF;
    private const int Vcpu = 0;

    private readonly TrapTable _table = new(maxVcpus: 1);
    private readonly TrapTableWriter _writer;
    private readonly TrapDispatcher _dispatcher;
    private readonly List<(string Region, ulong Address, int Length, ulong Value)> _seen = [];

    public WideAccessSplitTests()
    {
        _writer = _table.ClaimWriter();
        _dispatcher = new TrapDispatcher(_table);
    }

    private RegionHandle Device(TrapBus bus, ulong at, ulong length, string name, byte answer = 0) =>
        _writer.Register(bus, at, length, access =>
        {
            if (!access.IsWrite)
            {
                access.Data.Fill(answer);
            }

            _seen.Add((name, access.Address, access.Length, access.IsWrite ? access.Value : 0));
        }, name: name);

    [Fact]
    public void Word_write_to_a_one_byte_port_delivers_the_low_byte_and_drops_the_other()
    {
        Device(TrapBus.Pio, ExitPort, 1, "exit");
        Span<byte> ax = [0x2A, 0x01];

        var outcome = _dispatcher.Dispatch(Vcpu, TrapBus.Pio, ExitPort, TrapDirection.Write, ax);

        Assert.Equal(DispatchOutcome.Split, outcome);
        Assert.Equal([("exit", ExitPort, 1, 0x2AUL)], _seen);
        Assert.Equal(1, _dispatcher.Unhandled.Get(TrapBus.Pio, TrapDirection.Write));
    }

    [Fact]
    public void Dword_write_to_a_one_byte_port_delivers_the_low_byte()
    {
        Device(TrapBus.Pio, ExitPort, 1, "exit");
        Span<byte> eax = [0x07, 0x11, 0x22, 0x33];

        _dispatcher.Dispatch(Vcpu, TrapBus.Pio, ExitPort, TrapDirection.Write, eax);

        Assert.Equal([("exit", ExitPort, 1, 0x07UL)], _seen);
    }

    [Fact]
    public void Dword_read_across_two_one_byte_ports_and_gaps_returns_each_byte_and_all_ones_between()
    {
        Device(TrapBus.Pio, Port, 1, "data", answer: 0x11);
        Device(TrapBus.Pio, Port + 2, 1, "status", answer: 0x22);
        Span<byte> eax = stackalloc byte[4];

        var outcome = _dispatcher.Dispatch(Vcpu, TrapBus.Pio, Port, TrapDirection.Read, eax);

        Assert.Equal(DispatchOutcome.Split, outcome);
        Assert.Equal([0x11, EmptyBus, 0x22, EmptyBus], eax.ToArray());
        Assert.Equal([("data", Port, 1, 0UL), ("status", Port + 2, 1, 0UL)], _seen);
        Assert.Equal(2, _dispatcher.Unhandled.Get(TrapBus.Pio, TrapDirection.Read));
    }

    [Fact]
    public void Dword_read_across_two_adjacent_one_byte_ports_and_a_gap_returns_both_bytes_then_all_ones()
    {
        Device(TrapBus.Pio, Port, 1, "a", answer: 0xA1);
        Device(TrapBus.Pio, Port + 1, 1, "b", answer: 0xB2);
        Span<byte> eax = stackalloc byte[4];

        _dispatcher.Dispatch(Vcpu, TrapBus.Pio, Port, TrapDirection.Read, eax);

        Assert.Equal([0xA1, 0xB2, EmptyBus, EmptyBus], eax.ToArray());
        Assert.Equal(1, _dispatcher.Unhandled.Get(TrapBus.Pio, TrapDirection.Read));
    }

    [Fact]
    public void Pieces_are_naturally_aligned_accesses_of_one_two_or_four_bytes_within_each_region()
    {
        Device(TrapBus.Mmio, MmioBase, 3, "three");
        Device(TrapBus.Mmio, MmioBase + 4, 4, "four");
        Span<byte> data = [1, 2, 3, 4, 5, 6, 7, 8];

        var outcome = _dispatcher.Dispatch(Vcpu, TrapBus.Mmio, MmioBase, TrapDirection.Write, data);

        Assert.Equal(DispatchOutcome.Split, outcome);
        Assert.Equal(
            [("three", MmioBase, 2, 0x0201UL), ("three", MmioBase + 2, 1, 0x03UL), ("four", MmioBase + 4, 4, 0x0807_0605UL)],
            _seen);
        Assert.Equal(1, _dispatcher.Unhandled.Get(TrapBus.Mmio, TrapDirection.Write));
    }

    [Fact]
    public void Access_running_past_the_last_port_treats_the_bytes_beyond_as_unclaimed()
    {
        Device(TrapBus.Pio, TrapTable.MaxPort, 1, "last", answer: 0x5A);
        Span<byte> ax = stackalloc byte[2];

        _dispatcher.Dispatch(Vcpu, TrapBus.Pio, TrapTable.MaxPort, TrapDirection.Read, ax);

        Assert.Equal([0x5A, EmptyBus], ax.ToArray());
    }

    [Fact]
    public void Access_wrapping_past_the_top_of_memory_treats_the_bytes_beyond_as_unclaimed()
    {
        Device(TrapBus.Mmio, ulong.MaxValue - 1, 2, "top", answer: 0x77);
        Span<byte> data = stackalloc byte[4];

        _dispatcher.Dispatch(Vcpu, TrapBus.Mmio, ulong.MaxValue - 1, TrapDirection.Read, data);

        Assert.Equal([0x77, 0x77, EmptyBus, EmptyBus], data.ToArray());
        Assert.Equal([("top", ulong.MaxValue - 1, 2, 0UL)], _seen);
    }

    [Fact]
    public void Quarantined_piece_reads_all_ones_and_counts_a_drop_while_the_others_are_served()
    {
        var broken = Device(TrapBus.Pio, Port, 1, "broken", answer: 0x11);
        Device(TrapBus.Pio, Port + 1, 1, "fine", answer: 0x22);
        _writer.Quarantine(broken);
        Span<byte> ax = stackalloc byte[2];

        var outcome = _dispatcher.Dispatch(Vcpu, TrapBus.Pio, Port, TrapDirection.Read, ax);

        Assert.Equal(DispatchOutcome.Split, outcome);
        Assert.Equal([EmptyBus, 0x22], ax.ToArray());
        Assert.Equal(1, _table.Find(broken)!.Counters.Snapshot().Dropped);
    }

    [Fact]
    public void Faulting_piece_is_quarantined_and_reported_while_the_others_are_served()
    {
        var flaky = _writer.Register(TrapBus.Pio, Port, 1, _ => throw new InvalidOperationException("device bug"), name: "flaky");
        Device(TrapBus.Pio, Port + 1, 1, "fine", answer: 0x22);
        TrapFault? fault = null;
        _dispatcher.Faulted += f => fault = f;
        Span<byte> ax = stackalloc byte[2];

        var outcome = _dispatcher.Dispatch(Vcpu, TrapBus.Pio, Port, TrapDirection.Read, ax);

        Assert.Equal(DispatchOutcome.Faulted, outcome);
        Assert.Equal([EmptyBus, 0x22], ax.ToArray());
        Assert.Equal(flaky, fault?.Region.Handle);
        Assert.True(_table.Find(flaky)!.IsQuarantined);
    }

    [Fact]
    public void Access_held_by_one_region_is_not_split()
    {
        Device(TrapBus.Pio, Port, 4, "wide");
        Span<byte> eax = [1, 2, 3, 4];

        var outcome = _dispatcher.Dispatch(Vcpu, TrapBus.Pio, Port, TrapDirection.Write, eax);

        Assert.Equal(DispatchOutcome.Handled, outcome);
        Assert.Equal([("wide", Port, 4, 0x0403_0201UL)], _seen);
    }
}
