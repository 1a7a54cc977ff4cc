using ActorVmm.Devices;
using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Actors.Tests;

public sealed class InterruptControllerSlotTests
{
    private const int Irq = 4;
    private const byte Vector = 0x0C;

    [Fact]
    public void Slot_forwards_to_the_latest_controller_incarnation_and_ignores_the_replaced_one()
    {
        var slot = new InterruptControllerSlot();
        int requests = 0;
        slot.InterruptRequested += () => requests++;
        var first = new RecordingController();
        var second = new RecordingController();

        slot.Attach(first);
        slot.SetIrqLevel(Irq, true);
        first.Raise();
        slot.Attach(second);
        first.Raise();
        second.Raise();
        slot.SetIrqLevel(Irq, false);

        Assert.Equal([(Irq, true)], first.Levels);
        Assert.Equal([(Irq, false)], second.Levels);
        Assert.Equal(2, requests);
        Assert.True(slot.TryAcknowledge(out byte vector));
        Assert.Equal(Vector, vector);
    }

    [Fact]
    public void Empty_slot_has_no_pending_interrupt_and_drops_levels()
    {
        var slot = new InterruptControllerSlot();

        slot.SetIrqLevel(Irq, true);

        Assert.False(slot.HasPendingInterrupt);
        Assert.False(slot.TryAcknowledge(out _));
    }

    private sealed class RecordingController : IInterruptController
    {
        public List<(int Irq, bool Asserted)> Levels { get; } = [];

        public event Action? InterruptRequested;

        public bool HasPendingInterrupt => false;

        public void SetIrqLevel(int irq, bool asserted) => Levels.Add((irq, asserted));

        public bool TryAcknowledge(out byte vector)
        {
            vector = Vector;
            return true;
        }

        public void Raise() => InterruptRequested?.Invoke();
    }
}
