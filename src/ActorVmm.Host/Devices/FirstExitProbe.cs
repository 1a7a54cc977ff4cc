using System.Diagnostics;
using ActorVmm.Devices;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Host.Devices;

/// <summary>
/// Remembers when a VM's guest first touched a device (the fleet guest's first instruction writes the
/// POST port, so for it this is create-to-first-instruction). One shared write, once.
/// </summary>
public sealed class FirstExitProbe
{
    private long _timestamp;

    /// <summary>The <see cref="Stopwatch"/> timestamp of the first access, or null.</summary>
    public long? FirstExitTimestamp => Volatile.Read(ref _timestamp) is var t and not 0 ? t : null;

    /// <summary>Records the first access; later calls only read.</summary>
    public void Mark()
    {
        if (Volatile.Read(ref _timestamp) == 0)
        {
            Interlocked.CompareExchange(ref _timestamp, Stopwatch.GetTimestamp(), 0);
        }
    }

    /// <summary>Wraps a device so that its accesses mark the probe (the device's own interfaces are not forwarded).</summary>
    public IDevice Wrap(IDevice device) => new ProbedDevice(device, this);

    private sealed class ProbedDevice(IDevice inner, FirstExitProbe probe) : IDevice
    {
        public string Name => inner.Name;

        public IReadOnlyList<DeviceRegion> Regions => inner.Regions;

        public DeviceState CaptureState() => inner.CaptureState();

        public void HandleTrap(int region, TrapAccess access)
        {
            probe.Mark();
            inner.HandleTrap(region, access);
        }

        public void Reset() => inner.Reset();
    }
}
