using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Devices.Legacy;

/// <summary>
/// The legacy ports as a pure state machine: benign ranges, the POST latch, system control port A, the
/// boot-time probe (the exit port is its own device, <see cref="ExitPort.ExitPortDevice"/>). Power requests go to the injected <see cref="IVmPowerRequests"/>;
/// time comes from the injected <see cref="TimeProvider"/>. No threads or locks.
/// </summary>
public sealed class LegacyPorts
{
    /// <summary>Port 0x92 bit 0: write 1 to pulse the CPU reset line (fast reset).</summary>
    public const byte SystemControlFastResetBit = 0b0000_0001;

    /// <summary>Port 0x92 bit 1: A20 gate. Reads 1 after reset; the guest may clear it but memory never wraps.</summary>
    public const byte SystemControlA20Bit = 0b0000_0010;

    /// <summary>What empty ports read: all ones, like an undriven ISA bus.</summary>
    public const byte EmptyBusByte = 0xFF;

    private readonly IVmPowerRequests _power;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _vmStartTimestamp;
    private byte _systemControlA;

    /// <summary>
    /// Creates the ports at power-on, or rebuilt from <paramref name="state"/>. <paramref name="vmStartTimestamp"/>
    /// (from <paramref name="time"/>) defaults to now.
    /// </summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the ports can hold.</exception>
    public LegacyPorts(LegacyPortOptions options, IVmPowerRequests power, TimeProvider time, ILogger? logger = null, long? vmStartTimestamp = null, LegacyPortsState? state = null)
    {
        ArgumentNullException.ThrowIfNull(power);
        ArgumentNullException.ThrowIfNull(time);
        Ranges = LegacyPortMap.Build(options);
        _power = power;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _vmStartTimestamp = vmStartTimestamp ?? time.GetTimestamp();
        PowerOn();
        if (state is not null)
        {
            state.Validate();
            _systemControlA = state.SystemControlA;
            LastPostCode = state.LastPostCode;
        }
    }

    /// <summary>The handled ranges, sorted, non-overlapping.</summary>
    public IReadOnlyList<LegacyPortRange> Ranges { get; }

    /// <summary>The last value written to the POST port (what a POST card would display), or null.</summary>
    public byte? LastPostCode { get; private set; }

    /// <summary>The last boot-time probe: the tag the guest wrote and the time since VM start, or null.</summary>
    public (byte Tag, TimeSpan SinceStart)? LastBootTime { get; private set; }

    /// <summary>The current value of system control port A.</summary>
    public byte SystemControlA => _systemControlA;

    /// <summary>Reads <paramref name="size"/> bytes at <paramref name="port"/>; unknown ports read as an empty bus.</summary>
    public ulong Read(int port, int size)
    {
        ulong emptyBus = size >= sizeof(ulong) ? ulong.MaxValue : (1UL << (8 * size)) - 1;
        return Find(port)?.Kind switch
        {
            LegacyPortKind.PostCode => LastPostCode ?? EmptyBusByte,
            LegacyPortKind.SystemControlA => _systemControlA,
            _ => emptyBus,
        };
    }

    /// <summary>Writes <paramref name="value"/> (<paramref name="size"/> bytes) at <paramref name="port"/>; unknown ports ignore it.</summary>
    public void Write(int port, int size, ulong value)
    {
        switch (Find(port)?.Kind)
        {
            case LegacyPortKind.PostCode:
                LastPostCode = (byte)value;

                // Linux writes port 0x80 as its I/O delay after many port writes: without the guard each write would
                // box the value and go through the logger's template cache (a lock and a string hash), a third of
                // the exit path's time in the exit-heavy benchmark.
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    _logger.LogDebug("Guest POST code {PostCode:X2}", (byte)value);
                }

                break;
            case LegacyPortKind.SystemControlA:
                WriteSystemControlA((byte)value);
                break;
            case LegacyPortKind.BootTime:
                ReportBootTime((byte)value);
                break;
            default:
                break;
        }
    }

    /// <summary>The ports' state as an immutable record (<see cref="LegacyPortsState"/>).</summary>
    public LegacyPortsState CaptureState() => new(_systemControlA, LastPostCode);

    /// <summary>Back to power-on state (A20 on, no POST code). The VM start time is kept.</summary>
    public void Reset() => PowerOn();

    private void PowerOn()
    {
        _systemControlA = SystemControlA20Bit;
        LastPostCode = null;
    }

    private void WriteSystemControlA(byte value)
    {
        bool resetRising = (value & SystemControlFastResetBit) != 0 && (_systemControlA & SystemControlFastResetBit) == 0;
        _systemControlA = value;
        if (resetRising)
        {
            _logger.LogInformation("Guest requested a fast reset through port 0x92");
            _power.RequestReset(PowerRequestSource.SystemControlFastReset);
        }
    }

    private void ReportBootTime(byte tag)
    {
        TimeSpan elapsed = _time.GetElapsedTime(_vmStartTimestamp);
        LastBootTime = (tag, elapsed);
        _logger.LogInformation("Guest boot-time probe {Tag}: {ElapsedMilliseconds} ms since VM start", tag, elapsed.TotalMilliseconds);
    }

    private LegacyPortRange? Find(int port)
    {
        foreach (var range in Ranges)
        {
            if (range.Contains(port))
            {
                return range;
            }
        }

        return null;
    }
}
