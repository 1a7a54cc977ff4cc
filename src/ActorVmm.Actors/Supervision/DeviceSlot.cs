using ActorVmm.Actors.Devices;
using ActorVmm.Machine.Traps;
using Akka.Actor;

namespace ActorVmm.Actors.Supervision;

/// <summary>The supervisor's record of one device: what survives every incarnation of it.</summary>
internal sealed class DeviceSlot(DeviceSetup setup, IActorRef actor, RestartWindow window)
{
    public string Name => Setup.Definition.Name;

    public DeviceSetup Setup { get; } = setup;

    public IActorRef Actor { get; } = actor;

    public RestartWindow Window { get; } = window;

    public DeviceLifecycle State { get; set; } = DeviceLifecycle.Starting;

    /// <summary>Handles of the registered regions, index = the device's region index; null until first registered.</summary>
    public RegionHandle[]? Handles { get; set; }

    /// <summary>The handlers of the current incarnation, to tell its faults from a stale one's.</summary>
    public TrapHandler[] Handlers { get; set; } = [];

    /// <summary>Who asked to add the device, until answered.</summary>
    public IActorRef? PendingAdd { get; set; }

    /// <summary>Who asked to remove the device, once removal started.</summary>
    public IActorRef? PendingRemove { get; set; }

    public bool Removing { get; set; }

    /// <summary>Set once a hot-path fault of the current incarnation was passed on, so concurrent faults cause one restart.</summary>
    public bool CrashRequested { get; set; }

    public string? LastFailure { get; set; }

    public bool IsCurrentHandler(TrapHandler handler) => Array.Exists(Handlers, h => ReferenceEquals(h, handler));
}
