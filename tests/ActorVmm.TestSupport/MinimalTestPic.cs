using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;

namespace ActorVmm.TestSupport;

/// <summary>
/// Test stand-in for the 8259 master (the real PIC is built on another branch): edge-triggered, vector =
/// <see cref="VectorBase"/> + IRQ, one interrupt in service at a time, non-specific EOI (0x20 written to port 0x20).
/// Initialization and mask writes are accepted and not modelled.
/// </summary>
public sealed class MinimalTestPic : IInterruptController
{
    public const ushort CommandPort = 0x20;
    public const ushort PortCount = 2;
    public const byte VectorBase = 0x08;
    private const byte NonSpecificEoi = 0x20;
    private const int Lines = 8;

    private readonly Lock _lock = new();
    private readonly bool[] _levels = new bool[Lines];
    private int _requested;
    private bool _inService;
    private int _acknowledged;

    public event Action? InterruptRequested;

    public int Acknowledged => Volatile.Read(ref _acknowledged);

    public bool HasPendingInterrupt
    {
        get
        {
            lock (_lock)
            {
                return _requested != 0 && !_inService;
            }
        }
    }

    public void SetIrqLevel(int irq, bool asserted)
    {
        if ((uint)irq >= Lines)
        {
            return;
        }

        bool raise;
        lock (_lock)
        {
            raise = asserted && !_levels[irq];
            _levels[irq] = asserted;
            if (raise)
            {
                _requested |= 1 << irq;
            }
        }

        if (raise)
        {
            InterruptRequested?.Invoke();
        }
    }

    public bool TryAcknowledge(out byte vector)
    {
        lock (_lock)
        {
            if (_requested == 0 || _inService)
            {
                vector = 0;
                return false;
            }

            int irq = System.Numerics.BitOperations.TrailingZeroCount(_requested);
            _requested &= ~(1 << irq);
            _inService = true;
            _acknowledged++;
            vector = (byte)(VectorBase + irq);
            return true;
        }
    }

    /// <summary>The trap handler for ports 0x20–0x21.</summary>
    public void HandlePort(TrapAccess access)
    {
        if (!access.IsWrite)
        {
            access.Data.Clear();
            return;
        }

        if (access.Offset == 0 && (byte)access.Value == NonSpecificEoi)
        {
            bool more;
            lock (_lock)
            {
                _inService = false;
                more = _requested != 0;
            }

            if (more)
            {
                InterruptRequested?.Invoke();
            }
        }
    }
}
