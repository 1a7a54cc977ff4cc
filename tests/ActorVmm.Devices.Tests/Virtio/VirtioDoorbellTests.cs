using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Console;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.TestSupport;
using ActorVmm.TestSupport.Virtio;

namespace ActorVmm.Devices.Tests.Virtio;

/// <summary>
/// Queue notifications as doorbells: a virtio-mmio device places one per queue on QueueNotify, matching the queue
/// index, whose ring posts the queue's notification to the device's mailbox without the register handler; a rebuilt
/// incarnation finds them in place; a value naming no queue is left to the trap handler; teardown removes them.
/// </summary>
public sealed class VirtioDoorbellTests : IDisposable
{
    private static readonly VirtioMmioSlot Slot = VirtioTestMachine.Slot;
    private readonly GuestMemory _memory = GuestMemory.Create(VirtioRigs.Ram);
    private readonly DoorbellTable _table = new();
    private readonly SlowPathMailbox _mailbox = new();
    private readonly GuestInputQueue _input = new();
    private readonly DeviceDoorbells _doorbells;
    private readonly DeviceEnvironment _environment;

    public VirtioDoorbellTests()
    {
        var line = new IrqLineProbe(Slot.Irq);
        _environment = new DeviceEnvironment("doorbell-test", (_, _) => line, TimeProvider.System, NullGuestOutput.Instance, new RecordingPowerRequests(), new GuestDma(_memory), Doorbells: _table);
        _doorbells = new DeviceDoorbells(_table);
    }

    public void Dispose() => _memory.Dispose();

    [Fact]
    public void Each_queue_gets_a_doorbell_on_QueueNotify_that_posts_its_notification()
    {
        var device = Build(state: null);

        Assert.Equal(device.Core.QueueCount, _table.Count);
        Assert.True(_table.TryRing(TrapBus.Mmio, Slot.Base + VirtioMmioRegisters.QueueNotify, VirtioMmioRegisters.RegisterWidth, VirtioConsole.TransmitQueue));

        Assert.Equal([new VirtioSignals.QueueNotified(VirtioConsole.TransmitQueue)], _mailbox.History);
    }

    [Fact]
    public void A_rebuilt_incarnation_keeps_the_doorbells_in_place()
    {
        var first = Build(state: null);
        var rebuilt = Build(first.CaptureState());

        Assert.Equal(rebuilt.Core.QueueCount, _table.Count);
        Assert.True(_table.TryRing(TrapBus.Mmio, Slot.Base + VirtioMmioRegisters.QueueNotify, VirtioMmioRegisters.RegisterWidth, VirtioConsole.ReceiveQueue));
        Assert.Contains(new VirtioSignals.QueueNotified(VirtioConsole.ReceiveQueue), _mailbox.History);
    }

    [Fact]
    public void A_value_naming_no_queue_is_not_a_doorbell()
    {
        var device = Build(state: null);

        Assert.False(_table.TryRing(TrapBus.Mmio, Slot.Base + VirtioMmioRegisters.QueueNotify, VirtioMmioRegisters.RegisterWidth, (ulong)device.Core.QueueCount));
        Assert.Empty(_mailbox.History);
    }

    [Fact]
    public void Disposed_doorbells_are_gone_and_cannot_be_placed_again()
    {
        Build(state: null);

        _doorbells.Dispose();

        Assert.Equal(0, _table.Count);
        Build(state: null);
        Assert.Equal(0, _table.Count);
    }

    [Fact]
    public void Without_doorbells_the_device_posts_its_notifications_from_the_trap_handler()
    {
        var context = new DeviceContext("virtio0", _environment with { Doorbells = null }, _mailbox, _input);
        var device = new VirtioMmioDevice("virtio0", Slot, new VirtioConsole(_input, NullGuestOutput.Instance), context);
        var driver = new VirtioMmioDriver(new DeviceBus(device), Slot.Base);

        driver.Notify(VirtioConsole.TransmitQueue);

        Assert.Equal(0, _table.Count);
        Assert.Equal([new VirtioSignals.QueueNotified(VirtioConsole.TransmitQueue)], _mailbox.History);
    }

    private VirtioMmioDevice Build(DeviceState? state)
    {
        var context = new DeviceContext("virtio0", _environment, _mailbox, _input, state, doorbells: _doorbells);
        return new VirtioMmioDevice("virtio0", Slot, new VirtioConsole(_input, NullGuestOutput.Instance), context);
    }
}
