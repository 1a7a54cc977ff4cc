using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Pit;

/// <summary>
/// The 8254 PIT and port B on the trap bus. Guest accesses arrive on vCPU threads and
/// <see cref="OnTimer"/> on the device actor's timer, so both take the device's own lock.
/// <see cref="ScheduleChanged"/> tells the actor (after the lock is released) that the guest
/// reprogrammed channel 0 and the timer must be re-armed from <see cref="OnTimer"/>'s answer.
/// </summary>
public sealed class PitDevice : IDevice, ITimedDevice
{
    /// <summary>Counter and control ports on x86 (0x40–0x43).</summary>
    public const ulong DefaultCounterBase = 0x40;

    /// <summary>Port B (NMI status and control) on x86.</summary>
    public const ulong DefaultPortBBase = 0x61;

    /// <summary>IRQ line of channel 0 on a PC.</summary>
    public const int Irq = 0;

    private const int CounterRegion = 0;
    private const int PortBRegion = 1;
    private const int PortBLength = 1;

    private readonly Lock _lock = new();
    private readonly Pit8254 _pit;
    private readonly ByteLanes.ByteReader _readCounter;
    private readonly ByteLanes.ByteWriter _writeCounter;
    private readonly ByteLanes.ByteReader _readPortB;
    private readonly ByteLanes.ByteWriter _writePortB;
    private bool _rescheduled;

    /// <summary>Creates the timer at the given ports (x86 defaults) on <paramref name="bus"/>, at power-on or rebuilt from <paramref name="state"/>.</summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the chip can hold.</exception>
    public PitDevice(TimeProvider time, IInterruptLine irq0, TrapBus bus = TrapBus.Pio, ulong counterBase = DefaultCounterBase, ulong portBBase = DefaultPortBBase, PitState? state = null)
    {
        _pit = new Pit8254(time, irq0, state);

        // Delegates built once: the hot path allocates nothing. They run under _lock.
        _readCounter = _pit.Read;
        _writeCounter = (offset, value) => _rescheduled |= _pit.Write(offset, value);
        _readPortB = _ => _pit.ReadPortB();
        _writePortB = (_, value) => _pit.WritePortB(value);
        Regions =
        [
            new DeviceRegion(bus, counterBase, Pit8254.BlockLength),
            new DeviceRegion(bus, portBBase, PortBLength),
        ];
    }

    /// <inheritdoc />
    public string Name => "pit";

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; }

    /// <summary>Raised (outside the lock, on the vCPU thread) when the guest reprograms channel 0. Must not block.</summary>
    public event Action? ScheduleChanged;

    /// <summary>Runs <paramref name="inspect"/> on the state machine under the lock (tests, diagnostics).</summary>
    public T Inspect<T>(Func<Pit8254, T> inspect)
    {
        ArgumentNullException.ThrowIfNull(inspect);
        lock (_lock)
        {
            return inspect(_pit);
        }
    }

    /// <summary>Fires a due IRQ 0 edge; returns the delay until the next one, or null when none is scheduled.</summary>
    public TimeSpan? OnTimer()
    {
        lock (_lock)
        {
            return _pit.OnTimer();
        }
    }

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access)
    {
        bool rescheduled;
        lock (_lock)
        {
            _rescheduled = false;
            switch (region)
            {
                case CounterRegion:
                    ByteLanes.Dispatch(access, Pit8254.BlockLength, _readCounter, _writeCounter);
                    break;
                case PortBRegion:
                    ByteLanes.Dispatch(access, PortBLength, _readPortB, _writePortB);
                    break;
                default:
                    ByteLanes.Dispatch(access, 0, static _ => ByteLanes.EmptyBus, static (_, _) => { });
                    break;
            }

            rescheduled = _rescheduled;
        }

        if (rescheduled)
        {
            ScheduleChanged?.Invoke();
        }
    }

    /// <inheritdoc />
    public DeviceState CaptureState()
    {
        lock (_lock)
        {
            return _pit.CaptureState();
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_lock)
        {
            _pit.Reset();
        }

        ScheduleChanged?.Invoke();
    }
}
