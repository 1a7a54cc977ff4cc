using ActorVmm.Kvm.Machine;

namespace ActorVmm.Actors.Platform;

/// <summary>
/// The userspace interrupt controller as the backend sees it. A backend accepts one controller for a VM's life,
/// but the supervisor may restart the PIC device with a fresh instance: this slot is attached once and forwards
/// to whichever PIC instance is current. Line levels are remembered so a fresh instance sees the lines that are
/// still asserted (a level-triggered UART keeps its request across a PIC restart).
/// </summary>
public sealed class InterruptControllerSlot : IInterruptController
{
    private const int MaxLines = 16;

    private readonly Lock _lock = new();
    private readonly bool[] _levels = new bool[MaxLines];
    private IInterruptController? _current;

    /// <inheritdoc />
    public event Action? InterruptRequested;

    /// <inheritdoc />
    public bool HasPendingInterrupt => Volatile.Read(ref _current)?.HasPendingInterrupt ?? false;

    /// <summary>Makes <paramref name="controller"/> the current instance (called by the PIC's factory on every (re)start).</summary>
    public void Connect(IInterruptController controller)
    {
        ArgumentNullException.ThrowIfNull(controller);
        IInterruptController? previous;
        bool[] levels;
        lock (_lock)
        {
            previous = _current;
            _current = controller;
            levels = (bool[])_levels.Clone();
        }

        if (previous is not null)
        {
            previous.InterruptRequested -= OnInterruptRequested;
        }

        controller.InterruptRequested += OnInterruptRequested;
        for (int irq = 0; irq < levels.Length; irq++)
        {
            if (levels[irq])
            {
                controller.SetIrqLevel(irq, asserted: true);
            }
        }
    }

    /// <inheritdoc />
    public void SetIrqLevel(int irq, bool asserted)
    {
        IInterruptController? current;
        lock (_lock)
        {
            if ((uint)irq < MaxLines)
            {
                _levels[irq] = asserted;
            }

            current = _current;
        }

        current?.SetIrqLevel(irq, asserted);
    }

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
