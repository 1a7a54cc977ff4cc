using ActorVmm.Actors.Devices;
using ActorVmm.Devices;
using ActorVmm.Machine.Traps;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Actors.Supervision;

/// <summary>
/// One per VM: the only writer of the VM's trap table (it holds the table's <see cref="TrapTableWriter"/>)
/// and the parent of its device actors.
/// Registration, moves and removals arrive as messages and are answered with success or a
/// failure naming the conflicting region. A failing device (slow path: its actor threw; hot path:
/// its handler threw on a vCPU thread and the dispatcher reported it) is restarted with Akka's
/// restart — same <see cref="IActorRef"/>, fresh instance from the factory — and its regions are
/// re-pointed at the new instance; between the failure and the re-point they are quarantined.
/// Past the restart limit the device is stopped, marked failed, and its regions stay quarantined
/// while the VM keeps running.
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
    private readonly Dictionary<long, string> _ownedRegions = [];
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
        Receive<DeviceProtocol.InstanceCreated>(OnInstanceCreated);
        Receive<SupervisorProtocol.HotPathFaulted>(OnHotPathFaulted);
        Receive<SupervisorProtocol.RemoveDevice>(OnRemoveDevice);
        Receive<SupervisorProtocol.SendToDevice>(OnSendToDevice);
        Receive<SupervisorProtocol.RegisterRegion>(OnRegisterRegion);
        Receive<SupervisorProtocol.MoveRegion>(OnMoveRegion);
        Receive<SupervisorProtocol.UnregisterRegion>(OnUnregisterRegion);
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

        var setup = new DeviceSetup(definition, _environment);
        var props = DeviceActor.Props(setup);
        if (Context.System.Dispatchers.HasDispatcher(_settings.DeviceDispatcher))
        {
            props = props.WithDispatcher(_settings.DeviceDispatcher);
        }

        var actor = Context.ActorOf(props, definition.Name);
        Context.Watch(actor);
        _devices.Add(definition.Name, new DeviceSlot(setup, actor, new RestartWindow(_settings.MaxRestarts, _settings.Within, _environment.Time))
        {
            PendingAdd = Sender,
        });
    }

    private void OnInstanceCreated(DeviceProtocol.InstanceCreated created)
    {
        if (!_devices.TryGetValue(created.DeviceName, out var slot) || !slot.Actor.Equals(created.Actor) || slot.Removing || slot.State == DeviceLifecycle.Failed)
        {
            return;
        }

        var regions = created.Instance.Regions;
        var handlers = new TrapHandler[regions.Count];
        for (int i = 0; i < handlers.Length; i++)
        {
            int index = i;
            var instance = created.Instance;
            handlers[i] = access => instance.HandleTrap(index, access);
        }

        if (slot.Handles is null)
        {
            RegisterFirstInstance(slot, regions, handlers);
            return;
        }

        if (slot.Handles.Length != handlers.Length)
        {
            // A factory must build the same device every time; a different shape cannot take over the regions.
            MarkFailed(slot, $"the fresh instance declares {handlers.Length} regions instead of {slot.Handles.Length}", fault: null);
            Context.Stop(slot.Actor);
            return;
        }

        for (int i = 0; i < handlers.Length; i++)
        {
            _writer.Repoint(slot.Handles[i], handlers[i]);
        }

        slot.Handlers = handlers;
        slot.CrashRequested = false;
        slot.State = DeviceLifecycle.Running;
        _logger.LogInformation(
            "Device {Device} of VM {Vm} runs again on a fresh instance; regions {Regions} re-pointed (restart {Restarts})",
            slot.Name,
            _environment.VmName,
            DescribeRegions(slot),
            slot.Window.TotalRestarts);
        Context.System.EventStream.Publish(new SupervisorProtocol.DeviceRestarted(_environment.VmName, slot.Name, slot.Window.TotalRestarts));
    }

    private void RegisterFirstInstance(DeviceSlot slot, IReadOnlyList<DeviceRegion> regions, TrapHandler[] handlers)
    {
        var handles = new List<RegionHandle>(regions.Count);
        for (int i = 0; i < regions.Count; i++)
        {
            string regionName = regions.Count == 1 ? slot.Name : $"{slot.Name}[{i}]";
            if (!TryRegister(regionName, regions[i], handlers[i], out var handle, out var rejection))
            {
                foreach (var done in handles)
                {
                    _writer.Unregister(done);
                }

                slot.PendingAdd?.Tell(new SupervisorProtocol.DeviceRejected(slot.Name, rejection.Reason, rejection.ConflictsWith));
                slot.PendingAdd = null;
                slot.Removing = true;
                Context.Stop(slot.Actor);
                return;
            }

            handles.Add(handle);
        }

        slot.Handles = [.. handles];
        foreach (var handle in handles)
        {
            _deviceRegions[handle.Id] = slot;
        }

        slot.Handlers = handlers;
        slot.State = DeviceLifecycle.Running;
        slot.PendingAdd?.Tell(new SupervisorProtocol.DeviceAdded(slot.Name, RegionStatuses(slot)));
        slot.PendingAdd = null;
        _logger.LogInformation("Device {Device} of VM {Vm} added with regions {Regions}", slot.Name, _environment.VmName, DescribeRegions(slot));
    }

    private void OnHotPathFaulted(SupervisorProtocol.HotPathFaulted message)
    {
        var fault = message.Fault;
        if (_deviceRegions.TryGetValue(fault.Region.Handle.Id, out var slot))
        {
            // Faults of an instance already replaced, or a second fault of the same one, cause no second restart.
            if (slot.State == DeviceLifecycle.Running && !slot.CrashRequested && slot.IsCurrentHandler(fault.Region.Handler))
            {
                slot.CrashRequested = true;
                slot.Actor.Tell(new DeviceProtocol.HotPathFaulted(fault));
            }

            return;
        }

        // A region registered by another actor: it stays quarantined until its owner re-registers it.
        _logger.LogError(
            fault.Exception,
            "Handler of region {Region} (owner {Owner}) in VM {Vm} threw on vCPU {Vcpu}; the region stays quarantined",
            fault.Region.ToString(),
            _ownedRegions.GetValueOrDefault(fault.Region.Handle.Id, "unknown"),
            _environment.VmName,
            fault.VcpuId);
    }

    /// <summary>The named decider's decision for a failing device: restart within the limit, stop past it.</summary>
    private Directive DecideDeviceFailure(DeviceFaultException fault)
    {
        if (!_devices.TryGetValue(fault.DeviceName, out var slot))
        {
            return Directive.Stop;
        }

        // No vCPU may call into the failed instance while its replacement is built.
        QuarantineRegions(slot);
        slot.LastFailure = fault.Message;
        if (slot.Removing)
        {
            return Directive.Stop;
        }

        if (slot.Handles is null)
        {
            // The very first instance could not be built: a configuration error, not a runtime failure.
            slot.PendingAdd?.Tell(new SupervisorProtocol.DeviceRejected(slot.Name, fault.Message));
            slot.PendingAdd = null;
            slot.Removing = true;
            return Directive.Stop;
        }

        if (slot.Window.TryRestart())
        {
            slot.State = DeviceLifecycle.Restarting;
            _restarts++;
            SupervisionMetrics.Restarts.Add(1, new KeyValuePair<string, object?>("vm", _environment.VmName), new KeyValuePair<string, object?>("device", slot.Name));
            _logger.LogWarning(
                fault.InnerException ?? fault,
                "Device {Device} of VM {Vm} failed on its {FaultPath} in {Region}; restarting it with a fresh instance (restart {Restart} of {MaxRestarts} within {Within})",
                slot.Name,
                _environment.VmName,
                fault.FaultPath,
                fault.Region ?? DescribeRegions(slot),
                slot.Window.TotalRestarts,
                _settings.MaxRestarts,
                _settings.Within);
            return Directive.Restart;
        }

        MarkFailed(slot, fault.Message, fault);
        return Directive.Stop;
    }

    private void OnForeignFailure(Exception cause) =>
        _logger.LogError(cause, "A child of the device supervisor of VM {Vm} failed without naming a device; it is stopped", _environment.VmName);

    private void MarkFailed(DeviceSlot slot, string reason, DeviceFaultException? fault)
    {
        QuarantineRegions(slot);
        slot.State = DeviceLifecycle.Failed;
        slot.LastFailure = reason;
        _quarantines++;
        SupervisionMetrics.Quarantines.Add(1, new KeyValuePair<string, object?>("vm", _environment.VmName), new KeyValuePair<string, object?>("device", slot.Name));
        _logger.LogError(
            fault?.InnerException ?? fault,
            "Device {Device} of VM {Vm} failed on its {FaultPath} in {Region} past its restart limit ({MaxRestarts} within {Within}): {Reason}; it is marked failed and its regions {Regions} stay quarantined while the VM runs on",
            slot.Name,
            _environment.VmName,
            fault?.FaultPath ?? "instance",
            fault?.Region ?? DescribeRegions(slot),
            _settings.MaxRestarts,
            _settings.Within,
            reason,
            DescribeRegions(slot));
        Context.System.EventStream.Publish(new SupervisorProtocol.DeviceFailed(_environment.VmName, slot.Name, reason));
    }

    private void QuarantineRegions(DeviceSlot slot)
    {
        foreach (var handle in slot.Handles ?? [])
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
            foreach (var handle in slot.Handles ?? [])
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
            MarkFailed(slot, "its actor stopped unexpectedly", fault: null);
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

    private void OnRegisterRegion(SupervisorProtocol.RegisterRegion request)
    {
        if (TryRegister(request.Owner, request.Region, request.Handler, out var handle, out var rejection))
        {
            _ownedRegions[handle.Id] = request.Owner;
            Sender.Tell(new SupervisorProtocol.RegionRegistered(handle, _table.Find(handle)?.ToString() ?? handle.ToString()));
        }
        else
        {
            Sender.Tell(rejection);
        }
    }

    private void OnMoveRegion(SupervisorProtocol.MoveRegion request)
    {
        var region = _table.Find(request.Handle);
        if (region is null)
        {
            Sender.Tell(new SupervisorProtocol.RegionRejected($"{request.Handle} is not registered in VM '{_environment.VmName}'"));
            return;
        }

        var conflict = FindOverlap(region.Bus, request.NewBase, region.Length, ignore: region.Handle);
        try
        {
            _writer.Move(request.Handle, request.NewBase);
            Sender.Tell(new SupervisorProtocol.RegionMoved(request.Handle, _table.Find(request.Handle)?.ToString() ?? request.Handle.ToString()));
        }
        catch (TrapRegistrationException ex)
        {
            Sender.Tell(new SupervisorProtocol.RegionRejected(ex.Message, conflict?.ToString()));
        }
    }

    private void OnUnregisterRegion(SupervisorProtocol.UnregisterRegion request)
    {
        if (_deviceRegions.TryGetValue(request.Handle.Id, out var slot))
        {
            Sender.Tell(new SupervisorProtocol.RegionRejected($"{request.Handle} belongs to device '{slot.Name}'; remove the device instead"));
            return;
        }

        if (!_ownedRegions.Remove(request.Handle.Id) || !_writer.Unregister(request.Handle))
        {
            Sender.Tell(new SupervisorProtocol.RegionRejected($"{request.Handle} is not registered in VM '{_environment.VmName}'"));
            return;
        }

        Sender.Tell(new SupervisorProtocol.RegionUnregistered(request.Handle));
    }

    private bool TryRegister(string name, DeviceRegion region, TrapHandler handler, out RegionHandle handle, out SupervisorProtocol.RegionRejected rejection)
    {
        var conflict = FindOverlap(region.Bus, region.Base, region.Length, ignore: default);
        try
        {
            handle = _writer.Register(region.Bus, region.Base, region.Length, handler, region.Flags, name);
            rejection = null!;
            return true;
        }
        catch (TrapRegistrationException ex)
        {
            handle = default;
            rejection = new SupervisorProtocol.RegionRejected(ex.Message, conflict?.ToString());
            return false;
        }
    }

    private TrapRegion? FindOverlap(TrapBus bus, ulong baseAddress, ulong length, RegionHandle ignore)
    {
        if (length == 0 || baseAddress + length - 1 < baseAddress)
        {
            return null;
        }

        ulong last = baseAddress + length - 1;
        return _table.Regions(bus).FirstOrDefault(r => r.IsDecoding && r.Handle != ignore && r.Base <= last && baseAddress <= r.Last);
    }

    private SupervisorProtocol.DeviceReport BuildReport() =>
        new(
            [.. _devices.Values.Select(s => new SupervisorProtocol.DeviceStatus(s.Name, s.State, s.Window.TotalRestarts, RegionStatuses(s), s.LastFailure))],
            _restarts,
            _quarantines);

    private List<SupervisorProtocol.RegionStatus> RegionStatuses(DeviceSlot slot) =>
        [.. (slot.Handles ?? []).Select(h => _table.Find(h)).OfType<TrapRegion>()
            .Select(r => new SupervisorProtocol.RegionStatus(r.Handle, r.ToString(), r.Bus, r.Base, r.Length, r.IsQuarantined, r.Counters.Snapshot()))];

    private string DescribeRegions(DeviceSlot slot) =>
        string.Join(", ", (slot.Handles ?? []).Select(h => _table.Find(h)?.ToString() ?? h.ToString()));
}
