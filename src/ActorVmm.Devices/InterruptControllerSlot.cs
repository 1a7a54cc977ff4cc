using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices;

/// <summary>
/// Attached to a backend without an in-kernel irqchip once per VM, and forwarding to the current
/// incarnation of the userspace PIC device. A backend accepts only one controller, but a restarted
/// PIC is a new instance: the slot lets every incarnation plug itself in
/// (<see cref="DeviceContext.AttachInterruptController"/>) without touching the backend again.
/// </summary>
public sealed class InterruptControllerSlot : IInterruptController
{
    private IInterruptController? _current;

    /// <inheritdoc />
    public event Action? InterruptRequested;

    /// <inheritdoc />
    public bool HasPendingInterrupt => Volatile.Read(ref _current)?.HasPendingInterrupt ?? false;

    /// <summary>Plugs in a controller instance, replacing the previous (failed) one.</summary>
    public void Attach(IInterruptController controller)
    {
        ArgumentNullException.ThrowIfNull(controller);
        var previous = Interlocked.Exchange(ref _current, controller);
        if (previous is not null)
        {
            previous.InterruptRequested -= OnInterruptRequested;
        }

        controller.InterruptRequested += OnInterruptRequested;
        if (controller.HasPendingInterrupt)
        {
            OnInterruptRequested();
        }
    }

    /// <inheritdoc />
    public void SetIrqLevel(int irq, bool asserted) => Volatile.Read(ref _current)?.SetIrqLevel(irq, asserted);

    /// <inheritdoc />
    public bool TryAcknowledge(out byte vector)
    {
        var current = Volatile.Read(ref _current);
        if (current is null)
        {
            vector = 0;
            return false;
        }

        return current.TryAcknowledge(out vector);
    }

    private void OnInterruptRequested() => InterruptRequested?.Invoke();
}
