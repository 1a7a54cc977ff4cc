using ActorVmm.Actors.Supervision;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Actors.Vm;

/// <summary>
/// One per host process: creates, lists, pauses, resumes and stops VMs by name. Each VM is its
/// own child, supervised one-for-one with a decider that stops only the VM that failed, so a VM's
/// failure never affects another.
/// </summary>
public sealed class VmManager : ReceiveActor
{
    private readonly IHypervisor _hypervisor;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SupervisionSettings? _settings;
    private readonly Dictionary<string, IActorRef> _vms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, VmManagerProtocol.VmSummary> _summaries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IActorRef> _removing = new(StringComparer.Ordinal);

    /// <summary>Creates the manager.</summary>
    public VmManager(IHypervisor hypervisor, ILoggerFactory? loggerFactory, SupervisionSettings? settings)
    {
        _hypervisor = hypervisor ?? throw new ArgumentNullException(nameof(hypervisor));
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<VmManager>();
        _settings = settings;

        Receive<VmManagerProtocol.CreateVm>(OnCreateVm);
        Receive<VmManagerProtocol.ToVm>(OnToVm);
        Receive<VmManagerProtocol.RemoveVm>(OnRemoveVm);
        Receive<VmManagerProtocol.ListVms>(_ => Sender.Tell(new VmManagerProtocol.VmList([.. _summaries.Values.OrderBy(s => s.Name, StringComparer.Ordinal)])));
        Receive<VmProtocol.StateChanged>(changed =>
        {
            if (_summaries.ContainsKey(changed.Name))
            {
                _summaries[changed.Name] = new VmManagerProtocol.VmSummary(changed.Name, changed.State, changed.Exit);
            }
        });
        Receive<Terminated>(OnTerminated);
    }

    /// <summary>Props of the host's manager.</summary>
    public static Props Props(IHypervisor hypervisor, ILoggerFactory? loggerFactory = null, SupervisionSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new VmManager(hypervisor, loggerFactory, settings));

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(new VmFailureDecider(_logger));

    /// <inheritdoc />
    protected override void PreStart()
    {
        // Akka starts its timer thread lazily, and the first callers block a thread-pool thread until it
        // runs. When hundreds of VM actors arm their first timers at once (a fleet stopping together),
        // those blocked callers starved the pool and the process hung; start the scheduler here, idle.
        Context.System.Scheduler.Advanced.ScheduleOnce(TimeSpan.Zero, static () => { });
        base.PreStart();
    }

    private void OnCreateVm(VmManagerProtocol.CreateVm request)
    {
        var definition = request.Definition;
        try
        {
            definition.Validate();
        }
        catch (ArgumentException ex)
        {
            Sender.Tell(new VmManagerProtocol.VmRejected(definition.Name, ex.Message));
            return;
        }

        if (_vms.ContainsKey(definition.Name) || _removing.ContainsKey(definition.Name))
        {
            Sender.Tell(new VmManagerProtocol.VmRejected(definition.Name, $"A VM named '{definition.Name}' already exists"));
            return;
        }

        var vm = Context.ActorOf(VmActor.Props(definition, _hypervisor, _loggerFactory, _settings), definition.Name);
        Context.Watch(vm);
        _vms.Add(definition.Name, vm);
        _summaries[definition.Name] = new VmManagerProtocol.VmSummary(definition.Name, VmState.Created, null);
        if (request.Start)
        {
            vm.Tell(VmProtocol.Start.Instance, ActorRefs.NoSender);
        }

        Sender.Tell(new VmManagerProtocol.VmCreated(definition.Name));
    }

    private void OnToVm(VmManagerProtocol.ToVm request)
    {
        if (_vms.TryGetValue(request.Name, out var vm))
        {
            vm.Forward(request.Command);
        }
        else
        {
            Sender.Tell(new VmManagerProtocol.VmNotFound(request.Name));
        }
    }

    private void OnRemoveVm(VmManagerProtocol.RemoveVm request)
    {
        if (!_vms.Remove(request.Name, out var vm))
        {
            Sender.Tell(new VmManagerProtocol.VmNotFound(request.Name));
            return;
        }

        _removing[request.Name] = Sender;
        Context.Stop(vm);
    }

    private void OnTerminated(Terminated terminated)
    {
        string name = terminated.ActorRef.Path.Name;
        if (_removing.Remove(name, out var remover))
        {
            _summaries.Remove(name);
            remover.Tell(new VmManagerProtocol.VmRemoved(name));
            return;
        }

        if (_vms.Remove(name))
        {
            // Only a failure ends a VM actor that was not removed: keep it listed as stopped and failed.
            _summaries[name] = new VmManagerProtocol.VmSummary(name, VmState.Stopped, new VmExit(VmExitReason.Failed, VmExit.SoftwareError, "the VM actor failed; see the log"));
        }
    }
}

/// <summary>The manager's decider: a failed VM actor is stopped (its vCPU threads end in its PostStop); other VMs are untouched.</summary>
internal sealed class VmFailureDecider(ILogger logger) : IDecider
{
    public Directive Decide(Exception cause)
    {
        logger.LogError(cause, "A VM actor failed; that VM is stopped and the others run on");
        return Directive.Stop;
    }
}
