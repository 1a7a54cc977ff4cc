using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Pic;

/// <summary>
/// The 8259A pair on the trap bus and as the emulator's <see cref="IInterruptController"/>.
/// vCPU threads (port accesses, INTA) and device actors (IRQ lines) call it concurrently, so
/// every entry takes the device's own lock; <see cref="InterruptRequested"/> is raised after the
/// lock is released, when INTR rises.
/// </summary>
public sealed class PicDevice : IDevice, IInterruptController
{
    /// <summary>Master command/data ports on x86.</summary>
    public const ulong DefaultMasterBase = 0x20;

    /// <summary>Slave command/data ports on x86.</summary>
    public const ulong DefaultSlaveBase = 0xA0;

    /// <summary>PIIX ELCR ports on x86.</summary>
    public const ulong DefaultElcrBase = 0x4D0;

    /// <summary>Ports per register block.</summary>
    public const int BlockLength = 2;

    private readonly Lock _lock = new();
    private readonly PicPair _pic = new();
    private readonly ByteLanes.ByteReader[] _readers;
    private readonly ByteLanes.ByteWriter[] _writers;

    /// <summary>Creates the pair at the given bases (x86 defaults) on <paramref name="bus"/>, at power-on or rebuilt from <paramref name="state"/>.</summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the pair can hold.</exception>
    public PicDevice(TrapBus bus = TrapBus.Pio, ulong masterBase = DefaultMasterBase, ulong slaveBase = DefaultSlaveBase, ulong elcrBase = DefaultElcrBase, PicState? state = null)
    {
        if (state is not null)
        {
            _pic.LoadState(state);
        }

        // Delegates built once: the hot path allocates nothing.
        _readers = [.. Enum.GetValues<PicBlock>().Select(block => (ByteLanes.ByteReader)(offset => _pic.Read(block, offset)))];
        _writers = [.. Enum.GetValues<PicBlock>().Select(block => (ByteLanes.ByteWriter)((offset, value) => _pic.Write(block, offset, value)))];

        // Region index = (int)PicBlock, so HandleTrap can map it directly.
        Regions =
        [
            new DeviceRegion(bus, masterBase, BlockLength),
            new DeviceRegion(bus, slaveBase, BlockLength),
            new DeviceRegion(bus, elcrBase, BlockLength),
        ];
    }

    /// <inheritdoc />
    public string Name => "pic";

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; }

    /// <inheritdoc />
    public event Action? InterruptRequested;

    /// <inheritdoc />
    public bool HasPendingInterrupt
    {
        get
        {
            lock (_lock)
            {
                return _pic.Intr;
            }
        }
    }

    /// <summary>Runs <paramref name="inspect"/> on the state machine under the lock (tests, diagnostics).</summary>
    public T Inspect<T>(Func<PicPair, T> inspect)
    {
        ArgumentNullException.ThrowIfNull(inspect);
        lock (_lock)
        {
            return inspect(_pic);
        }
    }

    /// <summary>An interrupt line wired to input <paramref name="irq"/> of this controller.</summary>
    public IInterruptLine Line(int irq)
    {
        if ((uint)irq >= PicPair.IrqCount || irq == PicPair.CascadeInput)
        {
            throw new ArgumentOutOfRangeException(nameof(irq), irq, "The PIC pair serves IRQ 0–15 except the cascade input 2");
        }

        return new PicLine(this, irq);
    }

    /// <inheritdoc />
    public void SetIrqLevel(int irq, bool asserted)
    {
        bool before;
        bool after;
        lock (_lock)
        {
            before = _pic.Intr;
            _pic.SetIrq(irq, asserted);
            after = _pic.Intr;
        }

        RaiseIfRisen(before, after);
    }

    /// <summary>Drives an edge (high then low) on <paramref name="irq"/> in one step.</summary>
    public void PulseIrq(int irq)
    {
        bool before;
        bool after;
        lock (_lock)
        {
            before = _pic.Intr;
            _pic.SetIrq(irq, asserted: true);
            _pic.SetIrq(irq, asserted: false);
            after = _pic.Intr;
        }

        RaiseIfRisen(before, after);
    }

    /// <inheritdoc />
    public bool TryAcknowledge(out byte vector)
    {
        bool raised;
        lock (_lock)
        {
            if (!_pic.Intr)
            {
                vector = 0;
                return false;
            }

            vector = _pic.Acknowledge();
            raised = _pic.Intr;
        }

        // A further request may already be deliverable (auto-EOI, higher priority pending).
        if (raised)
        {
            InterruptRequested?.Invoke();
        }

        return true;
    }

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access)
    {
        if ((uint)region > (uint)PicBlock.Elcr)
        {
            ByteLanes.Dispatch(access, 0, static _ => ByteLanes.EmptyBus, static (_, _) => { });
            return;
        }

        bool before;
        bool after;
        lock (_lock)
        {
            before = _pic.Intr;
            ByteLanes.Dispatch(access, BlockLength, _readers[region], _writers[region]);
            after = _pic.Intr;
        }

        RaiseIfRisen(before, after);
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_lock)
        {
            _pic.Reset();
        }
    }

    /// <inheritdoc />
    public DeviceState CaptureState()
    {
        lock (_lock)
        {
            return _pic.CaptureState();
        }
    }

    /// <summary>
    /// Rebuilds this controller from <paramref name="state"/> in place (IRR, ISR, IMR, ICW modes, ELCR): the VM's
    /// interrupt path keeps the same object (<see cref="TimerDeviceDefinitions.Pic"/>), so a restart loads the
    /// captured state into it rather than building a new one.
    /// </summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the pair can hold; nothing is changed.</exception>
    public void LoadState(PicState state)
    {
        bool before;
        bool after;
        lock (_lock)
        {
            before = _pic.Intr;
            _pic.LoadState(state);
            after = _pic.Intr;
        }

        RaiseIfRisen(before, after);
    }

    // Called after the lock is released: subscribers (the emulator waking a halted vCPU) never run under it.
    private void RaiseIfRisen(bool before, bool after)
    {
        if (after && !before)
        {
            InterruptRequested?.Invoke();
        }
    }

    private sealed class PicLine(PicDevice pic, int irq) : IInterruptLine
    {
        public int Irq => irq;

        public void SetLevel(bool asserted) => pic.SetIrqLevel(irq, asserted);

        public void Pulse() => pic.PulseIrq(irq);
    }
}
