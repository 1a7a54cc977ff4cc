using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Actors.Tests.Fakes;

/// <summary>
/// A scripted vCPU core: every Run() step calls the guest program with the dispatcher, exactly as
/// a backend dispatches I/O exits on the vCPU thread. The program returns null to keep running.
/// </summary>
public sealed class FakeVcpuCore(int id, TrapDispatcher dispatcher, FakeGuestProgram program) : IVcpuCore
{
    private volatile bool _exitRequested;
    private long _step;

    public int Id { get; } = id;

    public VcpuEntryState? Entry { get; private set; }

    public void SetEntryState(VcpuEntryState entry) => Entry = entry;

    public VcpuExit Run()
    {
        while (true)
        {
            if (_exitRequested)
            {
                _exitRequested = false;
                return VcpuExit.Interrupted;
            }

            var exit = program(new FakeGuestStep(Id, dispatcher, _step++));
            if (exit is not null)
            {
                return exit;
            }
        }
    }

    public void RequestExit() => _exitRequested = true;

    public void Dispose()
    {
    }
}

/// <summary>One step of a fake guest on a vCPU thread.</summary>
public readonly record struct FakeGuestStep(int VcpuId, TrapDispatcher Dispatcher, long Step)
{
    public void Out(ushort port, byte value)
    {
        Span<byte> data = [value];
        Dispatcher.Dispatch(VcpuId, TrapBus.Pio, port, TrapDirection.Write, data);
    }

    public byte In(ushort port)
    {
        Span<byte> data = [0];
        Dispatcher.Dispatch(VcpuId, TrapBus.Pio, port, TrapDirection.Read, data);
        return data[0];
    }
}

/// <summary>A fake guest: called once per step on the vCPU thread; returns an exit to leave Run().</summary>
public delegate VcpuExit? FakeGuestProgram(FakeGuestStep step);
