using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Emulator.Tests;

/// <summary>A minimal userspace interrupt controller: one queue of vectors the test raises.</summary>
internal sealed class FakeInterruptController : IInterruptController
{
    private readonly Queue<byte> _pending = new();
    private readonly Lock _lock = new();

    public event Action? InterruptRequested;

    public int Acknowledged { get; private set; }

    public bool HasPendingInterrupt
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count > 0;
            }
        }
    }

    public void SetIrqLevel(int irq, bool asserted)
    {
        if (asserted)
        {
            Raise((byte)irq);
        }
    }

    /// <summary>Queues a vector and raises INTR.</summary>
    public void Raise(byte vector)
    {
        lock (_lock)
        {
            _pending.Enqueue(vector);
        }

        InterruptRequested?.Invoke();
    }

    public bool TryAcknowledge(out byte vector)
    {
        lock (_lock)
        {
            if (_pending.TryDequeue(out vector))
            {
                Acknowledged++;
                return true;
            }

            return false;
        }
    }
}
