using ActorVmm.Devices;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Actors.Supervision;

/// <summary>Messages of a VM's device supervisor, the only writer of the VM's trap table.</summary>
public static class SupervisorProtocol
{
    /// <summary>Creates a device actor, builds its instance and registers its declared regions. Answered with <see cref="DeviceAdded"/> or <see cref="DeviceRejected"/>.</summary>
    /// <param name="Definition">The device.</param>
    public sealed record AddDevice(DeviceDefinition Definition);

    /// <summary>The device runs and its regions are registered.</summary>
    /// <param name="Name">The device.</param>
    /// <param name="Regions">Its regions as registered.</param>
    public sealed record DeviceAdded(string Name, IReadOnlyList<RegionStatus> Regions);

    /// <summary>The device was not added; nothing of it stays registered.</summary>
    /// <param name="Name">The device.</param>
    /// <param name="Reason">Why, in words.</param>
    /// <param name="ConflictsWith">The region it overlaps (name, bus, range), when that was the reason.</param>
    public sealed record DeviceRejected(string Name, string Reason, string? ConflictsWith = null);

    /// <summary>Stops a device and unregisters its regions. Answered with <see cref="DeviceRemoved"/> or <see cref="DeviceNotFound"/>.</summary>
    /// <param name="Name">The device.</param>
    public sealed record RemoveDevice(string Name);

    /// <summary>The device is stopped and its regions are gone.</summary>
    /// <param name="Name">The device.</param>
    public sealed record DeviceRemoved(string Name);

    /// <summary>No device by that name, or it has failed for good and takes no messages.</summary>
    /// <param name="Name">The name asked for.</param>
    /// <param name="Reason">Why, in words.</param>
    public sealed record DeviceNotFound(string Name, string Reason);

    /// <summary>Forwards a message to a device actor (console input, device commands), keeping the sender.</summary>
    /// <param name="Name">The device.</param>
    /// <param name="Message">The message.</param>
    public sealed record SendToDevice(string Name, object Message);

    /// <summary>Asks for every device's state and counters. Answered with <see cref="DeviceReport"/>.</summary>
    public sealed record GetDevices
    {
        /// <summary>The single instance.</summary>
        public static GetDevices Instance { get; } = new();
    }

    /// <summary>The devices of the VM.</summary>
    /// <param name="Devices">Each device with its regions.</param>
    /// <param name="Restarts">Device restarts so far.</param>
    /// <param name="Quarantines">Devices quarantined for good so far.</param>
    public sealed record DeviceReport(IReadOnlyList<DeviceStatus> Devices, long Restarts, long Quarantines);

    /// <summary>One device's state.</summary>
    /// <param name="Name">The device.</param>
    /// <param name="State">Its lifecycle state.</param>
    /// <param name="Restarts">Its restarts so far.</param>
    /// <param name="Regions">Its regions with their counters.</param>
    /// <param name="LastFailure">The last failure, in words, or null.</param>
    /// <param name="Details">What the device reports of its guest-programmed configuration (<see cref="ActorVmm.Devices.IDeviceDetails"/>; the PCI host bridge lists its functions), empty for most devices.</param>
    public sealed record DeviceStatus(string Name, DeviceLifecycle State, int Restarts, IReadOnlyList<RegionStatus> Regions, string? LastFailure, IReadOnlyList<string> Details);

    /// <summary>One region's state.</summary>
    /// <param name="Handle">Its handle.</param>
    /// <param name="Description">Name, bus and range.</param>
    /// <param name="Bus">The bus.</param>
    /// <param name="Base">The base.</param>
    /// <param name="Length">The length.</param>
    /// <param name="Quarantined">True while it answers as an empty bus.</param>
    /// <param name="Counters">Reads, writes and dropped accesses.</param>
    public sealed record RegionStatus(RegionHandle Handle, string Description, TrapBus Bus, ulong Base, ulong Length, bool Quarantined, RegionCounterSnapshot Counters);

    /// <summary>A trap handler threw on a vCPU thread (raised by the dispatcher, turned into this message without blocking).</summary>
    /// <param name="Fault">What the dispatcher caught.</param>
    public sealed record HotPathFaulted(TrapFault Fault);

    /// <summary>Published on the event stream when a device runs again on a fresh instance.</summary>
    /// <param name="VmName">The VM.</param>
    /// <param name="DeviceName">The device.</param>
    /// <param name="Restarts">Its restarts so far.</param>
    /// <param name="FromState">True when the fresh instance was rebuilt from the failed one's state; false for power-on state.</param>
    /// <param name="Detail">Which, in words, and why not from the state when it was not.</param>
    public sealed record DeviceRestarted(string VmName, string DeviceName, int Restarts, bool FromState, string Detail);

    /// <summary>Published on the event stream when a device is marked failed and its regions stay quarantined.</summary>
    /// <param name="VmName">The VM.</param>
    /// <param name="DeviceName">The device.</param>
    /// <param name="Reason">The last failure.</param>
    public sealed record DeviceFailed(string VmName, string DeviceName, string Reason);
}

/// <summary>A supervised device's lifecycle.</summary>
public enum DeviceLifecycle
{
    /// <summary>Its actor is building the first instance.</summary>
    Starting = 0,

    /// <summary>Its regions point at a live instance.</summary>
    Running = 1,

    /// <summary>It failed; its regions are quarantined until the fresh instance is ready.</summary>
    Restarting = 2,

    /// <summary>It failed past its restart limit; its regions stay quarantined while the VM runs on.</summary>
    Failed = 3,
}
