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
    private readonly TrapDispatcher _dispatcher;
    private readonly TrapTableWriter _writer;

    public LockFreePath()
    {
        var table = new TrapTable(maxVcpus: 4);
        _writer = table.ClaimWriter();
        _dispatcher = new TrapDispatcher(table);
    }

    public void Register(TrapBus bus, ulong start, ulong length, TrapHandler handler, out object token) =>
        token = _writer.Register(bus, start, length, handler);

    public void Unregister(TrapBus bus, object token) => _writer.Unregister((RegionHandle)token);

    public void Dispatch(int vcpu, TrapBus bus, ulong address, Span<byte> data) =>
        _dispatcher.Dispatch(vcpu, bus, address, TrapDirection.Read, data);
}
