using ActorVmm.Actors.Devices;
using ActorVmm.Devices;
using ActorVmm.Machine.Traps;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Actors.Supervision;

/// <summary>
/// One per VM: the only writer of the VM's trap table (it holds the table's <see cref="TrapTableWriter"/>) and the
/// parent of its device actors. It builds every device instance itself, registers the regions the instance declares
/// and grants the device the capabilities over them (<see cref="DeviceRegionControls"/>), so a device moves its own
/// regions synchronously without ever holding the writer.
/// A failing device — its handler threw on a vCPU thread (the dispatcher quarantined that region and reported it) or
/// its actor threw on the slow path — is rebuilt here from the last state that can be read and validated, else from
/// power-on state; its regions are re-pointed at the fresh instance and placed where its state says. A hot-path
/// failure does not restart the actor (it is told to attach the new instance); a slow-path failure restarts it with
/// Akka's restart (same <see cref="IActorRef"/>). Past the restart limit the device is stopped, marked failed, and its
/// regions stay quarantined while the VM keeps running.
/// </summary>
public sealed class DeviceSupervisor : ReceiveActor
{
    private readonly TrapDispatcher _dispatcher;
    private readonly TrapTableWriter _writer;
    private readonly TrapTable _table;
    private readonly DeviceEnvironment _environment;
    private readonly SupervisionSettings _settings;
    private readonly ILogger _logger;
    private readonly SupervisorStrategy _strategy;
    private readonly Dictionary<string, DeviceSlot> _devices = new(StringComparer.Ordinal);
    private readonly Dictionary<long, DeviceSlot> _deviceRegions = [];
    private Action<TrapFault>? _faultSubscription;
    private long _restarts;
    private long _quarantines;

    /// <summary>Creates the supervisor of one VM's devices; <paramref name="writer"/> is the VM table's one writer, claimed by the VM.</summary>
    public DeviceSupervisor(TrapDispatcher dispatcher, TrapTableWriter writer, DeviceEnvironment environment, SupervisionSettings? settings, ILoggerFactory? loggerFactory)
    {
        _dispatcher = dispatcher ?? throw new ArgumentNullException(nameof(dispatcher));
        _writer = writer ?? throw new ArgumentNullException(nameof(writer));
        _table = writer.Table;
        if (!ReferenceEquals(_table, dispatcher.Table))
        {
            throw new ArgumentException("The writer must belong to the table the dispatcher reads", nameof(writer));
        }

        _environment = environment ?? throw new ArgumentNullException(nameof(environment));
        _settings = settings ?? SupervisionSettings.FromConfig(Context.System.Settings.Config);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<DeviceSupervisor>();
        _strategy = new OneForOneStrategy(-1, -1, new DeviceFailureDecider(DecideDeviceFailure, OnForeignFailure), loggingEnabled: false);

        Receive<SupervisorProtocol.AddDevice>(OnAddDevice);
        Receive<SupervisorProtocol.HotPathFaulted>(OnHotPathFaulted);
        Receive<SupervisorProtocol.RemoveDevice>(OnRemoveDevice);
        Receive<SupervisorProtocol.SendToDevice>(OnSendToDevice);
        Receive<SupervisorProtocol.GetDevices>(_ => Sender.Tell(BuildReport()));
        Receive<Terminated>(OnTerminated);
    }

    /// <summary>Props of a VM's supervisor; <paramref name="settings"/> null reads <c>actorvmm.supervision</c> from the system config.</summary>
    public static Props Props(TrapDispatcher dispatcher, TrapTableWriter writer, DeviceEnvironment environment, SupervisionSettings? settings = null, ILoggerFactory? loggerFactory = null) =>
        Akka.Actor.Props.Create(() => new DeviceSupervisor(dispatcher, writer, environment, settings, loggerFactory));

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => _strategy;

    /// <inheritdoc />
    protected override void PreStart()
    {
        // The dispatcher raises Faulted on a vCPU thread: turn it into a Tell, never block there.
        var self = Self;
        _faultSubscription = fault => self.Tell(new SupervisorProtocol.HotPathFaulted(fault), ActorRefs.NoSender);
        _dispatcher.Faulted += _faultSubscription;
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (_faultSubscription is not null)
        {
            _dispatcher.Faulted -= _faultSubscription;
        }
    }

    private void OnAddDevice(SupervisorProtocol.AddDevice request)
    {
        var definition = request.Definition;
        try
        {
            definition.Validate();
        }
        catch (ArgumentException ex)
        {
            Sender.Tell(new SupervisorProtocol.DeviceRejected(definition.Name, ex.Message));
            return;
        }

        if (_devices.ContainsKey(definition.Name))
        {
            Sender.Tell(new SupervisorProtocol.DeviceRejected(definition.Name, $"A device named '{definition.Name}' already exists in VM '{_environment.VmName}'"));
            return;
        }

        var cell = new DeviceCell(definition, _environment);
        var props = DeviceActor.Props(cell);
        if (Context.System.Dispatchers.HasDispatcher(_settings.DeviceDispatcher))
        {
            props = props.WithDispatcher(_settings.DeviceDispatcher);
        }

        var actor = Context.ActorOf(props, definition.Name);
        var slot = new DeviceSlot(cell, actor, new RestartWindow(_settings.MaxRestarts, _settings.Within, _environment.Time));
        if (TryStart(slot) is { } rejection)
        {
            Context.Stop(actor);
            Sender.Tell(rejection);
            return;
        }

        Context.Watch(actor);
        _devices.Add(definition.Name, slot);
        Sender.Tell(new SupervisorProtocol.DeviceAdded(slot.Name, RegionStatuses(slot)));
        _logger.LogInformation("Device {Device} of VM {Vm} added with regions {Regions}", slot.Name, _environment.VmName, DescribeRegions(slot));
    }

    /// <summary>Builds the first instance, registers its regions and grants their controls; a rejection when any step fails (nothing stays registered).</summary>
    private SupervisorProtocol.DeviceRejected? TryStart(DeviceSlot slot)
    {
        IDevice device;
        try
        {
            device = slot.Cell.Build(slot.Mailbox, state: null);
        }
        catch (Exception ex)
        {
            // The very first instance could not be built: a configuration error, not a runtime failure.
            return new SupervisorProtocol.DeviceRejected(slot.Name, $"its factory failed: {ex.Message}");
        }

        var regions = device.Regions;
        var handlers = DeviceRebuild.Handlers(device);
        var handles = new List<RegionHandle>(regions.Count);
        for (int i = 0; i < regions.Count; i++)
        {
            var region = regions[i];
            var conflict = FindOverlap(region);
            try
            {
                string name = regions.Count == 1 ? slot.Name : $"{slot.Name}[{i}]";
                handles.Add(_writer.Register(region.Bus, region.Base, region.Length, handlers[i], region.Flags, name, region.Enabled));
            }
            catch (TrapRegistrationException ex)
            {
                foreach (var done in handles)
                {
                    _writer.Unregister(done);
                }

                return new SupervisorProtocol.DeviceRejected(slot.Name, ex.Message, conflict?.ToString());
            }
        }

        slot.Handles = [.. handles];
        slot.Cell.Regions.Grant([.. handles.Select(_writer.Control)]);
        foreach (var handle in handles)
        {
            _deviceRegions[handle.Id] = slot;
        }

        Install(slot, device, handlers);
        return null;
    }

    private void Install(DeviceSlot slot, IDevice device, TrapHandler[] handlers)
    {
        slot.Handlers = handlers;
        slot.State = DeviceLifecycle.Running;
        int generation = slot.Cell.Install(device);
        slot.Actor.Tell(new DeviceProtocol.Attach(generation));
    }

    private void OnHotPathFaulted(SupervisorProtocol.HotPathFaulted message)
    {
        var fault = message.Fault;
        if (!_deviceRegions.TryGetValue(fault.Region.Handle.Id, out var slot))
        {
            return;
        }

        // Faults of an instance already replaced, or a second fault of the same one, cause no second rebuild.
        if (slot.State != DeviceLifecycle.Running || !slot.IsCurrentHandler(fault.Region.Handler))
        {
            return;
        }

        if (!Recover(slot, DeviceActor.HotPath, fault.Region.ToString(), fault.Exception))
        {
            Context.Stop(slot.Actor);
        }
    }

    /// <summary>The named decider's decision for a device whose actor failed: rebuild and restart within the limit, stop past it.</summary>
    private Directive DecideDeviceFailure(DeviceFaultException fault)
    {
        if (!_devices.TryGetValue(fault.DeviceName, out var slot) || slot.Removing || slot.State == DeviceLifecycle.Failed)
        {
            return Directive.Stop;
        }

        return Recover(slot, fault.FaultPath, fault.Region ?? DescribeRegions(slot), fault.InnerException ?? fault) ? Directive.Restart : Directive.Stop;
    }

    /// <summary>
    /// Rebuilds a failed device within its restart limit: quarantine every region (no vCPU may call into the failed
    /// instance), build the replacement from its state (else power-on), re-point and re-place the regions, install it.
    /// False when the device is marked failed instead.
    /// </summary>
    private bool Recover(DeviceSlot slot, string faultPath, string where, Exception cause)
    {
        QuarantineRegions(slot);
        slot.LastFailure = $"failed on its {faultPath} in {where}: {cause.Message}";
        if (!slot.Window.TryRestart())
        {
            MarkFailed(slot, slot.LastFailure, cause, where);
            return false;
        }

        slot.State = DeviceLifecycle.Restarting;
        DeviceRebuild.Result rebuilt;
        try
        {
            rebuilt = DeviceRebuild.Rebuild(slot.Cell, slot.Mailbox, slot.Cell.Current);
        }
        catch (Exception ex)
        {
            MarkFailed(slot, $"no fresh instance could be built: {ex.Message}", ex, where);
            return false;
        }

        var regions = rebuilt.Instance.Regions;
        if (regions.Count != slot.Handles.Length)
        {
            // A factory must build the same device every time; a different shape cannot take over the regions.
            MarkFailed(slot, $"the fresh instance declares {regions.Count} regions instead of {slot.Handles.Length}", cause, where);
            return false;
        }

        var handlers = DeviceRebuild.Handlers(rebuilt.Instance);
        for (int i = 0; i < handlers.Length; i++)
        {
            // Placed where the instance's state says (a PCI BAR keeps its programmed address), then re-pointed, which lifts the quarantine.
            slot.Cell.Regions[i].Place(regions[i].Base, regions[i].Enabled);
            _writer.Repoint(slot.Handles[i], handlers[i]);
        }

        Install(slot, rebuilt.Instance, handlers);
        _restarts++;
        SupervisionMetrics.Restarts.Add(1, new KeyValuePair<string, object?>("vm", _environment.VmName), new KeyValuePair<string, object?>("device", slot.Name));
        _logger.LogWarning(
            cause,
            "Device {Device} of VM {Vm} failed on its {FaultPath} in {Region}; {Rebuild} (restart {Restart} of {MaxRestarts} within {Within})",
            slot.Name,
            _environment.VmName,
            faultPath,
            where,
            rebuilt.Detail,
            slot.Window.TotalRestarts,
            _settings.MaxRestarts,
            _settings.Within);
        Context.System.EventStream.Publish(new SupervisorProtocol.DeviceRestarted(_environment.VmName, slot.Name, slot.Window.TotalRestarts, rebuilt.FromState, rebuilt.Detail));
        return true;
    }

    private void OnForeignFailure(Exception cause) =>
        _logger.LogError(cause, "A child of the device supervisor of VM {Vm} failed without naming a device; it is stopped", _environment.VmName);

    private void MarkFailed(DeviceSlot slot, string reason, Exception? cause, string? where = null)
    {
        QuarantineRegions(slot);
        slot.State = DeviceLifecycle.Failed;
        slot.LastFailure = reason;
        _quarantines++;
        SupervisionMetrics.Quarantines.Add(1, new KeyValuePair<string, object?>("vm", _environment.VmName), new KeyValuePair<string, object?>("device", slot.Name));
        _logger.LogError(
            cause,
            "Device {Device} of VM {Vm} {Reason} (in {Region}); past its restart limit ({MaxRestarts} within {Within}) it is marked failed and its regions {Regions} stay quarantined while the VM runs on",
            slot.Name,
            _environment.VmName,
            reason,
            where ?? DescribeRegions(slot),
            _settings.MaxRestarts,
            _settings.Within,
            DescribeRegions(slot));
        Context.System.EventStream.Publish(new SupervisorProtocol.DeviceFailed(_environment.VmName, slot.Name, reason));
    }

    private void QuarantineRegions(DeviceSlot slot)
    {
        foreach (var handle in slot.Handles)
        {
            _writer.Quarantine(handle);
        }
    }

    private void OnRemoveDevice(SupervisorProtocol.RemoveDevice request)
    {
        if (!_devices.TryGetValue(request.Name, out var slot) || slot.Removing)
        {
            Sender.Tell(new SupervisorProtocol.DeviceNotFound(request.Name, $"VM '{_environment.VmName}' has no device named '{request.Name}'"));
            return;
        }

        slot.Removing = true;
        slot.PendingRemove = Sender;
        Context.Stop(slot.Actor);
    }

    private void OnTerminated(Terminated terminated)
    {
        var slot = _devices.Values.FirstOrDefault(s => s.Actor.Equals(terminated.ActorRef));
        if (slot is null)
        {
            return;
        }

        if (slot.Removing)
        {
            foreach (var handle in slot.Handles)
            {
                _writer.Unregister(handle);
                _deviceRegions.Remove(handle.Id);
            }

            _devices.Remove(slot.Name);
            slot.PendingRemove?.Tell(new SupervisorProtocol.DeviceRemoved(slot.Name));
            return;
        }

        if (slot.State != DeviceLifecycle.Failed)
        {
            MarkFailed(slot, "lost its actor unexpectedly", cause: null);
        }
    }

    private void OnSendToDevice(SupervisorProtocol.SendToDevice request)
    {
        if (!_devices.TryGetValue(request.Name, out var slot) || slot.Removing)
        {
            Sender.Tell(new SupervisorProtocol.DeviceNotFound(request.Name, $"VM '{_environment.VmName}' has no device named '{request.Name}'"));
            return;
        }

        if (slot.State == DeviceLifecycle.Failed)
        {
            Sender.Tell(new SupervisorProtocol.DeviceNotFound(request.Name, $"Device '{request.Name}' has failed and is quarantined: {slot.LastFailure}"));
            return;
        }

        slot.Actor.Forward(request.Message);
    }

    private TrapRegion? FindOverlap(DeviceRegion region)
    {
        if (!region.Enabled || region.Length == 0 || region.Base + region.Length - 1 < region.Base)
        {
            return null;
        }

        ulong last = region.Base + region.Length - 1;
        return _table.Regions(region.Bus).FirstOrDefault(r => r.IsDecoding && r.Base <= last && region.Base <= r.Last);
    }

    private SupervisorProtocol.DeviceReport BuildReport() =>
        new(
            [.. _devices.Values.Select(s => new SupervisorProtocol.DeviceStatus(s.Name, s.State, s.Window.TotalRestarts, RegionStatuses(s), s.LastFailure, Details(s)))],
            _restarts,
            _quarantines);

    private List<SupervisorProtocol.RegionStatus> RegionStatuses(DeviceSlot slot) =>
        [.. slot.Handles.Select(h => _table.Find(h)).OfType<TrapRegion>()
            .Select(r => new SupervisorProtocol.RegionStatus(r.Handle, r.ToString(), r.Bus, r.Base, r.Length, r.IsQuarantined, r.Counters.Snapshot()))];

    private static IReadOnlyList<string> Details(DeviceSlot slot)
    {
        if (slot.State != DeviceLifecycle.Running || slot.Cell.Current is not IDeviceDetails device)
        {
            return [];
        }

        try
        {
            return device.Details();
        }
        catch (Exception ex)
        {
            // A report must not fail because one device cannot describe itself; its next fault is the supervisor's business.
            return [$"details unavailable: {ex.Message}"];
        }
    }

    private string DescribeRegions(DeviceSlot slot) =>
        string.Join(", ", slot.Handles.Select(h => _table.Find(h)?.ToString() ?? h.ToString()));
}
