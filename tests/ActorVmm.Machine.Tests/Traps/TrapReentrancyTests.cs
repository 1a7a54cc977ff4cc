using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Tests.Traps;

/// <summary>
/// A device reprograms its own BAR from inside its trap handler, on the vCPU thread, and the guest's
/// next access already sees the new placement. Times out (TimeoutException) instead of hanging if a
/// dispatch deadlocks: kvmtool (2020) and Firecracker (2026) deadlocked when a device moved its own
/// BAR from inside a trap.
/// </summary>
public sealed class TrapReentrancyTests
{
    private const ulong BarBase = 0xE000_0000;
    private const ulong BarSize = 0x1000;
    private const ulong NewBarBase = 0xE010_0000;
    private const ulong ConfigPort = 0xCFC;
    private const ulong BarRegisterOffset = 0;
    private const ulong CommandRegisterOffset = 4;
    private const ulong CommandRegisterPort = ConfigPort + CommandRegisterOffset;
    private const ulong MemoryDecodeEnable = 1;
    private static readonly TimeSpan DeadlockTimeout = TimeSpan.FromSeconds(10);

    private readonly TrapTable _table = new();
    private readonly TrapTableWriter _writer;
    private readonly TrapDispatcher _dispatcher;

    public TrapReentrancyTests()
    {
        _writer = _table.ClaimWriter();
        _dispatcher = new TrapDispatcher(_table);
    }

    private Task<DispatchOutcome> OnVcpuThread(TrapBus bus, ulong address, ulong value, int size = 8) => Task.Run(() =>
    {
        byte[] data = new byte[size];
        TrapAccess.WriteLittleEndian(data, value);
        return _dispatcher.Dispatch(0, bus, address, TrapDirection.Write, data);
    });

    [Fact]
    public async Task Handler_moving_its_own_bar_from_inside_a_trap_is_seen_by_the_very_next_access()
    {
        RegionControl self = null!;
        self = _writer.Control(_writer.Register(TrapBus.Mmio, BarBase, BarSize, access =>
        {
            if (access.IsWrite)
            {
                self.Move(access.Value);
            }
        }, name: "bar"));

        var outcomes = await Task.Run(() =>
        {
            byte[] data = BitConverter.GetBytes(NewBarBase);
            var write = _dispatcher.Dispatch(0, TrapBus.Mmio, BarBase, TrapDirection.Write, data);

            // The same vCPU's next accesses, with no message round trip in between.
            var atOld = _dispatcher.Dispatch(0, TrapBus.Mmio, BarBase, TrapDirection.Read, new byte[4]);
            var atNew = _dispatcher.Dispatch(0, TrapBus.Mmio, NewBarBase, TrapDirection.Read, new byte[4]);
            return (write, atOld, atNew);
        }).WaitAsync(DeadlockTimeout);

        Assert.Equal((DispatchOutcome.Handled, DispatchOutcome.Unhandled, DispatchOutcome.Handled), outcomes);
        Assert.Equal(NewBarBase, self.Base);
    }

    [Fact]
    public async Task Handler_disabling_its_own_decoding_from_inside_a_trap_completes()
    {
        RegionControl self = null!;
        self = _writer.Control(_writer.Register(TrapBus.Mmio, BarBase, BarSize, _ => self.SetEnabled(false), name: "bar"));

        Assert.Equal(DispatchOutcome.Handled, await OnVcpuThread(TrapBus.Mmio, BarBase, 0).WaitAsync(DeadlockTimeout));

        Assert.False(self.IsDecoding);
        Assert.Equal(DispatchOutcome.Unhandled, _dispatcher.Dispatch(0, TrapBus.Mmio, BarBase, TrapDirection.Read, new byte[4]));
    }

    [Fact]
    public async Task Config_space_handler_enabling_another_region_from_inside_a_trap_makes_it_decode()
    {
        var bar = _writer.Control(_writer.Register(TrapBus.Mmio, 0, BarSize, access => access.SetValue(1), name: "bar", enabled: false));
        _writer.Register(TrapBus.Pio, ConfigPort, 8, access =>
        {
            switch (access.Offset)
            {
                case BarRegisterOffset:
                    bar.Move(access.Value);
                    break;
                case CommandRegisterOffset:
                    bar.SetEnabled((access.Value & MemoryDecodeEnable) != 0);
                    break;
            }
        }, name: "pci-config");

        Assert.Equal(DispatchOutcome.Handled, await OnVcpuThread(TrapBus.Pio, ConfigPort, BarBase, size: 4).WaitAsync(DeadlockTimeout));
        Assert.False(bar.IsDecoding);
        Assert.Equal(DispatchOutcome.Handled, await OnVcpuThread(TrapBus.Pio, CommandRegisterPort, MemoryDecodeEnable, size: 4).WaitAsync(DeadlockTimeout));

        Assert.True(bar.IsDecoding);
        Assert.Equal(DispatchOutcome.Handled, _dispatcher.Dispatch(0, TrapBus.Mmio, BarBase + 4, TrapDirection.Read, new byte[4]));
    }

    [Fact]
    public async Task Handler_moving_its_own_region_with_the_checked_move_completes()
    {
        RegionHandle self = default;
        self = _writer.Register(TrapBus.Mmio, BarBase, BarSize, access => _writer.Move(self, access.Value));

        Assert.Equal(DispatchOutcome.Handled, await OnVcpuThread(TrapBus.Mmio, BarBase, NewBarBase).WaitAsync(DeadlockTimeout));
        Assert.Equal(NewBarBase, _table.Find(self)!.Base);
        Assert.Equal(self, _table.Lookup(TrapBus.Mmio, NewBarBase, 8)?.Handle);
    }

    [Fact]
    public async Task Handler_unregistering_itself_from_inside_a_trap_completes()
    {
        RegionHandle self = default;
        self = _writer.Register(TrapBus.Pio, 0x600, 1, _ => _writer.Unregister(self));

        Assert.Equal(DispatchOutcome.Handled, await OnVcpuThread(TrapBus.Pio, 0x600, 0, size: 1).WaitAsync(DeadlockTimeout));
        Assert.Null(_table.Find(self));
        Assert.Equal(DispatchOutcome.Unhandled, _dispatcher.Dispatch(0, TrapBus.Pio, 0x600, TrapDirection.Write, new byte[1]));
    }

    [Fact]
    public async Task Handler_registering_a_region_while_another_thread_dispatches_completes()
    {
        _writer.Register(TrapBus.Pio, 0x700, 4, access => _writer.Register(TrapBus.Mmio, access.Value, BarSize, _ => { }));
        _writer.Register(TrapBus.Mmio, BarBase, BarSize, _ => { });
        using var stop = new CancellationTokenSource();
        var other = Task.Run(() =>
        {
            byte[] data = new byte[4];
            while (!stop.IsCancellationRequested)
            {
                _dispatcher.Dispatch(1, TrapBus.Mmio, BarBase, TrapDirection.Read, data);
            }
        });

        var call = OnVcpuThread(TrapBus.Pio, 0x700, (uint)NewBarBase, size: 4);

        Assert.Equal(DispatchOutcome.Handled, await call.WaitAsync(DeadlockTimeout));
        await stop.CancelAsync();
        await other.WaitAsync(DeadlockTimeout);
        Assert.NotNull(_table.Lookup(TrapBus.Mmio, NewBarBase, 4));
    }
}
