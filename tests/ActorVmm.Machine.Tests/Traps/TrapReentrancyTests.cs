using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Traps;

/// <summary>Times out (TimeoutException) instead of hanging if a dispatch deadlocks. kvmtool (2020) and Firecracker (2026) deadlocked when a device moved its own BAR from inside a trap.</summary>
public sealed class TrapReentrancyTests
{
    private const ulong BarBase = 0xE000_0000;
    private const ulong BarSize = 0x1000;
    private const ulong NewBarBase = 0xE010_0000;
    private static readonly TimeSpan DeadlockTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Handler_moving_its_own_region_from_inside_a_trap_completes()
    {
        var table = new TrapTable();
        var dispatcher = new TrapDispatcher(table);
        RegionHandle self = default;
        self = table.Register(TrapBus.Mmio, BarBase, BarSize, access => table.Move(self, access.Value));

        var call = Task.Run(() =>
        {
            byte[] data = BitConverter.GetBytes(NewBarBase);
            return dispatcher.Dispatch(0, TrapBus.Mmio, BarBase, TrapDirection.Write, data);
        });

        Assert.Equal(DispatchOutcome.Handled, await call.WaitAsync(DeadlockTimeout));
        Assert.Equal(NewBarBase, table.Find(self)!.Base);
        Assert.Equal(self, table.Lookup(TrapBus.Mmio, NewBarBase, 8)?.Handle);
    }

    [Fact]
    public async Task Handler_unregistering_itself_from_inside_a_trap_completes()
    {
        var table = new TrapTable();
        var dispatcher = new TrapDispatcher(table);
        RegionHandle self = default;
        self = table.Register(TrapBus.Pio, 0x600, 1, _ => table.Unregister(self));

        var call = Task.Run(() => dispatcher.Dispatch(0, TrapBus.Pio, 0x600, TrapDirection.Write, new byte[1]));

        Assert.Equal(DispatchOutcome.Handled, await call.WaitAsync(DeadlockTimeout));
        Assert.Null(table.Find(self));
        Assert.Equal(DispatchOutcome.Unhandled, dispatcher.Dispatch(0, TrapBus.Pio, 0x600, TrapDirection.Write, new byte[1]));
    }

    [Fact]
    public async Task Handler_registering_a_region_while_another_thread_dispatches_completes()
    {
        var table = new TrapTable();
        var dispatcher = new TrapDispatcher(table);
        table.Register(TrapBus.Pio, 0x700, 4, access => table.Register(TrapBus.Mmio, access.Value, BarSize, _ => { }));
        table.Register(TrapBus.Mmio, BarBase, BarSize, _ => { });
        using var stop = new CancellationTokenSource();
        var other = Task.Run(() =>
        {
            byte[] data = new byte[4];
            while (!stop.IsCancellationRequested)
            {
                dispatcher.Dispatch(1, TrapBus.Mmio, BarBase, TrapDirection.Read, data);
            }
        });

        var call = Task.Run(() => dispatcher.Dispatch(0, TrapBus.Pio, 0x700, TrapDirection.Write, BitConverter.GetBytes((uint)NewBarBase)));

        Assert.Equal(DispatchOutcome.Handled, await call.WaitAsync(DeadlockTimeout));
        await stop.CancelAsync();
        await other.WaitAsync(DeadlockTimeout);
        Assert.NotNull(table.Lookup(TrapBus.Mmio, NewBarBase, 4));
    }
}
