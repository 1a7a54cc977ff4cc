using ActorVmm.Machine.Traps;

namespace ActorVmm.Benchmarks.Traps;

/// <summary>One way of turning an access into a handler call; the benchmarks compare three.</summary>
internal interface IDispatchPath
{
    void Register(TrapBus bus, ulong start, ulong length, TrapHandler handler, out object token);

    void Unregister(TrapBus bus, object token);

    void Dispatch(int vcpu, TrapBus bus, ulong address, Span<byte> data);
}

/// <summary>ActorVmm: immutable snapshots, lock-free lookup.</summary>
internal sealed class LockFreePath : IDispatchPath
{
    private readonly TrapDispatcher _dispatcher = new(new TrapTable(maxVcpus: 4));

    public void Register(TrapBus bus, ulong start, ulong length, TrapHandler handler, out object token) =>
        token = _dispatcher.Table.Register(bus, start, length, handler);

    public void Unregister(TrapBus bus, object token) => _dispatcher.Table.Unregister((RegionHandle)token);

    public void Dispatch(int vcpu, TrapBus bus, ulong address, Span<byte> data) =>
        _dispatcher.Dispatch(vcpu, bus, address, TrapDirection.Read, data);
}
