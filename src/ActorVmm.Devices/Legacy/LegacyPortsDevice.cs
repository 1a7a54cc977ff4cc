using ActorVmm.Machine.Traps;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Devices.Legacy;

/// <summary>
/// The hot-path adapter of <see cref="LegacyPorts"/>: one PIO region per range of the legacy port map, a lock
/// of its own. Any access size is accepted; reads of benign ports return all ones.
/// </summary>
public sealed class LegacyPortsDevice : IDevice
{
    private readonly Lock _lock = new();
    private readonly LegacyPorts _ports;

    /// <summary>Creates the device for <paramref name="options"/>, at power-on or rebuilt from <paramref name="state"/>.</summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the ports can hold.</exception>
    public LegacyPortsDevice(LegacyPortOptions options, IVmPowerRequests power, TimeProvider time, ILogger? logger = null, long? vmStartTimestamp = null, LegacyPortsState? state = null)
    {
        _ports = new LegacyPorts(options, power, time, logger, vmStartTimestamp, state);
        Regions = [.. _ports.Ranges.Select(r => new DeviceRegion(TrapBus.Pio, r.First, r.Length))];
    }

    /// <inheritdoc />
    public string Name => "legacy";

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; }

    /// <summary>The handled ranges, index-aligned with <see cref="Regions"/>.</summary>
    public IReadOnlyList<LegacyPortRange> Ranges => _ports.Ranges;

    /// <summary>The last POST code the guest wrote, or null.</summary>
    public byte? LastPostCode
    {
        get
        {
            lock (_lock)
            {
                return _ports.LastPostCode;
            }
        }
    }

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access)
    {
        if ((uint)region >= (uint)Regions.Count || access.Offset >= Regions[region].Length)
        {
            if (!access.IsWrite)
            {
                access.Data.Fill(LegacyPorts.EmptyBusByte);
            }

            return;
        }

        int port = (int)(Regions[region].Base + access.Offset);
        lock (_lock)
        {
            if (access.IsWrite)
            {
                _ports.Write(port, access.Length, access.Value);
            }
            else
            {
                access.SetValue(_ports.Read(port, access.Length));
            }
        }
    }

    /// <inheritdoc />
    public DeviceState CaptureState()
    {
        lock (_lock)
        {
            return _ports.CaptureState();
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_lock)
        {
            _ports.Reset();
        }
    }
}
