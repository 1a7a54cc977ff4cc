using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Rtc;

/// <summary>
/// The MC146818 RTC/CMOS on the trap bus: port I/O at 0x70–0x71 on x86, or MMIO at 0x0101_0000
/// on the arm64 layout, with no code change (bus and base come from the constructor). Guest
/// accesses (vCPU threads) and <see cref="OnTimer"/> (the device actor's timer) take the device's
/// own lock; <see cref="ScheduleChanged"/> says the timer must be re-armed.
/// </summary>
public sealed class RtcDevice : IDevice, ITimedDevice
{
    /// <summary>Index/data ports on x86.</summary>
    public const ulong DefaultPioBase = 0x70;

    /// <summary>IRQ line on a PC.</summary>
    public const int Irq = 8;

    private readonly Lock _lock = new();
    private readonly Mc146818Rtc _rtc;
    private readonly ByteLanes.ByteReader _read;
    private readonly ByteLanes.ByteWriter _write;
    private bool _rescheduled;

    /// <summary>
    /// Creates the clock at <paramref name="baseAddress"/> on <paramref name="bus"/> (x86 defaults), at power-on or
    /// rebuilt from <paramref name="state"/>.
    /// </summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the chip can hold.</exception>
    public RtcDevice(TimeProvider time, IInterruptLine irq, CmosMemorySize memory, TrapBus bus = TrapBus.Pio, ulong baseAddress = DefaultPioBase, RtcState? state = null)
    {
        _rtc = new Mc146818Rtc(time, irq, memory, state);

        // Delegates built once: the hot path allocates nothing. They run under _lock.
        _read = _rtc.Read;
        _write = (offset, value) => _rescheduled |= _rtc.Write(offset, value);
        Regions = [new DeviceRegion(bus, baseAddress, Mc146818Rtc.PortCount)];
    }

    /// <inheritdoc />
    public string Name => "rtc";

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; }

    /// <summary>Raised (outside the lock) when the guest changed what the next event is. Must not block.</summary>
    public event Action? ScheduleChanged;

    /// <summary>Runs <paramref name="inspect"/> on the state machine under the lock (tests, diagnostics).</summary>
    public T Inspect<T>(Func<Mc146818Rtc, T> inspect)
    {
        ArgumentNullException.ThrowIfNull(inspect);
        lock (_lock)
        {
            return inspect(_rtc);
        }
    }

    /// <summary>Processes due events; returns the delay until the next enabled one, or null.</summary>
    public TimeSpan? OnTimer()
    {
        lock (_lock)
        {
            return _rtc.OnTimer();
        }
    }

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access)
    {
        bool rescheduled;
        lock (_lock)
        {
            _rescheduled = false;
            int length = region == 0 ? Mc146818Rtc.PortCount : 0;
            ByteLanes.Dispatch(access, length, _read, _write);
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
            return _rtc.CaptureState();
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_lock)
        {
            _rtc.Reset();
        }

        ScheduleChanged?.Invoke();
    }
}
