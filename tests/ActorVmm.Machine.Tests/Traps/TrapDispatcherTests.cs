using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Traps;

public sealed class TrapDispatcherTests
{
    private const ulong DevicePort = 0x500;
    private const ulong DevicePorts = 4;
    private const int Vcpu0 = 0;
    private const int Vcpu1 = 1;
    private const byte DeviceAnswer = 0x42;
    private const byte EmptyBus = 0xFF;

    private readonly TrapTable _table = new(maxVcpus: 2);
    private readonly TrapTableWriter _writer;
    private readonly TrapDispatcher _dispatcher;

    public TrapDispatcherTests()
    {
        _writer = _table.ClaimWriter();
        _dispatcher = new TrapDispatcher(_table);
    }

    [Fact]
    public void Unhandled_read_returns_all_ones_and_is_counted_per_bus()
    {
        Span<byte> data = stackalloc byte[4];

        var outcome = _dispatcher.Dispatch(Vcpu0, TrapBus.Mmio, 0xFEE0_0000, TrapDirection.Read, data);

        Assert.Equal(DispatchOutcome.Unhandled, outcome);
        Assert.Equal(uint.MaxValue, BitConverter.ToUInt32(data));
        Assert.Equal(1, _dispatcher.Unhandled.Get(TrapBus.Mmio, TrapDirection.Read));
        Assert.Equal(0, _dispatcher.Unhandled.Get(TrapBus.Pio));
    }

    [Fact]
    public void Unhandled_write_is_dropped_and_counted()
    {
        Span<byte> data = [1, 2];

        var outcome = _dispatcher.Dispatch(Vcpu1, TrapBus.Pio, DevicePort, TrapDirection.Write, data);

        Assert.Equal(DispatchOutcome.Unhandled, outcome);
        Assert.Equal(new byte[] { 1, 2 }, data.ToArray());
        Assert.Equal(1, _dispatcher.Unhandled.Get(TrapBus.Pio, TrapDirection.Write));
    }

    [Fact]
    public void Handler_sees_bus_address_offset_direction_and_length()
    {
        (TrapBus Bus, ulong Address, ulong Offset, TrapDirection Direction, int Length, int Vcpu) seen = default;
        _writer.Register(TrapBus.Pio, DevicePort, DevicePorts, access =>
        {
            seen = (access.Bus, access.Address, access.Offset, access.Direction, access.Length, access.VcpuId);
            access.SetValue(DeviceAnswer);
        });
        Span<byte> data = stackalloc byte[2];

        var outcome = _dispatcher.Dispatch(Vcpu1, TrapBus.Pio, DevicePort + 2, TrapDirection.Read, data);

        Assert.Equal(DispatchOutcome.Handled, outcome);
        Assert.Equal((TrapBus.Pio, DevicePort + 2, 2UL, TrapDirection.Read, 2, Vcpu1), seen);
        Assert.Equal(DeviceAnswer, data[0]);
        Assert.Equal(0, data[1]);
    }

    [Fact]
    public void Counters_are_kept_per_region_and_summed_over_vcpus()
    {
        var handle = _writer.Register(TrapBus.Pio, DevicePort, DevicePorts, _ => { });
        Span<byte> data = stackalloc byte[1];

        _dispatcher.Dispatch(Vcpu0, TrapBus.Pio, DevicePort, TrapDirection.Read, data);
        _dispatcher.Dispatch(Vcpu1, TrapBus.Pio, DevicePort, TrapDirection.Read, data);
        _dispatcher.Dispatch(Vcpu1, TrapBus.Pio, DevicePort + 1, TrapDirection.Write, data);

        Assert.Equal(new RegionCounterSnapshot(Reads: 2, Writes: 1, Dropped: 0), _table.Find(handle)!.Counters.Snapshot());
    }

    [Fact]
    public void Handler_exception_quarantines_the_region_and_raises_a_fault()
    {
        var boom = new InvalidOperationException("device bug");
        var handle = _writer.Register(TrapBus.Pio, DevicePort, DevicePorts, access =>
        {
            access.Data[0] = DeviceAnswer;
            throw boom;
        }, name: "flaky");
        TrapFault? fault = null;
        _dispatcher.Faulted += f => fault = f;
        Span<byte> data = stackalloc byte[1];

        var outcome = _dispatcher.Dispatch(Vcpu0, TrapBus.Pio, DevicePort + 1, TrapDirection.Read, data);

        Assert.Equal(DispatchOutcome.Faulted, outcome);
        Assert.Equal(EmptyBus, data[0]);
        Assert.True(_table.Find(handle)!.IsQuarantined);
        Assert.NotNull(fault);
        Assert.Same(boom, fault.Exception);
        Assert.Equal(handle, fault.Region.Handle);
        Assert.Equal(DevicePort + 1, fault.Address);
    }

    [Theory]
    [InlineData(TrapBus.Pio)]
    [InlineData(TrapBus.Mmio)]
    public void Quarantine_by_the_dispatcher_publishes_no_new_snapshot(TrapBus bus)
    {
        _writer.Register(bus, DevicePort, DevicePorts, _ => throw new InvalidOperationException("device bug"));
        var published = _table.Snapshot(bus);
        Span<byte> data = stackalloc byte[1];

        Assert.Equal(DispatchOutcome.Faulted, _dispatcher.Dispatch(Vcpu0, bus, DevicePort, TrapDirection.Write, data));
        Assert.Equal(DispatchOutcome.Quarantined, _dispatcher.Dispatch(Vcpu0, bus, DevicePort, TrapDirection.Write, data));

        Assert.Same(published, _table.Snapshot(bus));
        Assert.True(_table.Lookup(bus, DevicePort, 1)!.IsQuarantined);
    }

    [Fact]
    public void Quarantined_region_answers_as_empty_bus_counts_drops_and_calls_nothing()
    {
        int calls = 0;
        var handle = _writer.Register(TrapBus.Pio, DevicePort, DevicePorts, _ => calls++);
        _writer.Quarantine(handle);
        Span<byte> data = stackalloc byte[2];

        Assert.Equal(DispatchOutcome.Quarantined, _dispatcher.Dispatch(Vcpu0, TrapBus.Pio, DevicePort, TrapDirection.Read, data));
        Assert.Equal(DispatchOutcome.Quarantined, _dispatcher.Dispatch(Vcpu0, TrapBus.Pio, DevicePort, TrapDirection.Write, data));

        Assert.Equal(0, calls);
        Assert.Equal([EmptyBus, EmptyBus], data.ToArray());
        Assert.Equal(2, _table.Find(handle)!.Counters.Snapshot().Dropped);
        Assert.Equal(0, _dispatcher.Unhandled.Get(TrapBus.Pio));
    }

    [Fact]
    public void Repoint_lifts_quarantine_and_routes_to_the_new_handler()
    {
        var handle = _writer.Register(TrapBus.Pio, DevicePort, DevicePorts, _ => throw new InvalidOperationException("old instance"));
        Span<byte> data = stackalloc byte[1];
        _dispatcher.Dispatch(Vcpu0, TrapBus.Pio, DevicePort, TrapDirection.Read, data);

        _writer.Repoint(handle, access => access.SetValue(DeviceAnswer));

        Assert.Equal(DispatchOutcome.Handled, _dispatcher.Dispatch(Vcpu0, TrapBus.Pio, DevicePort, TrapDirection.Read, data));
        Assert.Equal(DeviceAnswer, data[0]);
    }

    [Fact]
    public void A_vcpu_holding_the_version_before_a_repoint_still_finds_the_failed_handler_quarantined()
    {
        var handle = _writer.Register(TrapBus.Pio, DevicePort, DevicePorts, _ => throw new InvalidOperationException("old instance"));
        Span<byte> data = stackalloc byte[1];
        var before = _table.Lookup(TrapBus.Pio, DevicePort, 1)!;
        _dispatcher.Dispatch(Vcpu0, TrapBus.Pio, DevicePort, TrapDirection.Read, data);

        _writer.Repoint(handle, _ => { });

        Assert.True(before.IsQuarantined);
        Assert.False(_table.Lookup(TrapBus.Pio, DevicePort, 1)!.IsQuarantined);
    }

    [Fact]
    public void Throwing_fault_subscriber_does_not_reach_the_vcpu()
    {
        _writer.Register(TrapBus.Mmio, DevicePort, DevicePorts, _ => throw new InvalidOperationException("device"));
        int secondSubscriberCalls = 0;
        _dispatcher.Faulted += _ => throw new InvalidOperationException("subscriber");
        _dispatcher.Faulted += _ => secondSubscriberCalls++;
        Span<byte> data = stackalloc byte[1];

        var outcome = _dispatcher.Dispatch(Vcpu0, TrapBus.Mmio, DevicePort, TrapDirection.Write, data);

        Assert.Equal(DispatchOutcome.Faulted, outcome);
        Assert.Equal(1, secondSubscriberCalls);
    }
}
