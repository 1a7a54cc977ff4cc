using ActorVmm.Actors.Devices;
using ActorVmm.Devices;
using ActorVmm.Machine.Traps;
using Akka.Actor;

namespace ActorVmm.Actors.Supervision;

/// <summary>The supervisor's record of one device: its cell (what every incarnation shares), its actor and its restart window.</summary>
internal sealed class DeviceSlot(DeviceCell cell, IActorRef actor, RestartWindow window)
{
    public string Name => Cell.Name;

    public DeviceCell Cell { get; } = cell;

    public IActorRef Actor { get; } = actor;

    /// <summary>How instances built for this device reach their slow path: the device's actor.</summary>
    public IDeviceMailbox Mailbox { get; } = new ActorMailbox(actor);

    public RestartWindow Window { get; } = window;

    public DeviceLifecycle State { get; set; } = DeviceLifecycle.Starting;

    /// <summary>Handles of the registered regions, index = the device's region index; empty until registered.</summary>
    public RegionHandle[] Handles { get; set; } = [];

    /// <summary>The handlers of the current instance, to tell its faults from a stale instance's.</summary>
    public TrapHandler[] Handlers { get; set; } = [];

    /// <summary>Who asked to remove the device, once removal started.</summary>
    public IActorRef? PendingRemove { get; set; }

    public bool Removing { get; set; }

    public string? LastFailure { get; set; }

    public bool IsCurrentHandler(TrapHandler handler) => Array.Exists(Handlers, h => ReferenceEquals(h, handler));
}
