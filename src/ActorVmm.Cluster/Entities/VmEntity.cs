using ActorVmm.Actors.Console;
using ActorVmm.Actors.Vm;
using ActorVmm.Cluster.Gateway;
using ActorVmm.Cluster.Registry;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.DistributedData;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Cluster.Entities;

/// <summary>
/// A VM as a sharded entity (entity id = shard id = VM name): on whichever node sharding starts it,
/// it reads the VM's definition from the replicated registry, checks that the files it names are on
/// this node, and runs the VM as a local <see cref="VmActor"/> child, the same actor a single host
/// runs. Sharding guarantees one entity per name in the cluster; remember-entities restarts it on
/// another node when its node dies, where it boots the VM again from its definition (a power cut:
/// guest RAM is lost). A guest that ends by itself is recorded as ended and not booted again.
/// </summary>
public sealed class VmEntity : ReceiveActor, IWithUnboundedStash
{
    /// <summary>How long a pause, resume or status query may take.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a stop may wait for the VM to end.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    /// <summary>The VM actor's name under its entity.</summary>
    public const string VmChildName = "vm";

    private readonly string _name;
    private readonly VmHostContext _host;
    private readonly ILogger _logger;
    private readonly List<IActorRef> _bootWaiters = [];
    private ClusterVmSpec? _spec;
    private IActorRef? _vm;
    private string _state = VmStates.Starting;
    private string? _message;
    private readonly string _backend;
    private string? _failure;
    private bool _askedMajority;
    private bool _stopping;

    /// <summary>Creates the entity for VM <paramref name="name"/>.</summary>
    public VmEntity(string name, VmHostContext host)
    {
        _name = name ?? throw new ArgumentNullException(nameof(name));
        _host = host ?? throw new ArgumentNullException(nameof(host));
        _logger = host.Loggers.CreateLogger<VmEntity>();
        _backend = host.Hypervisor.Name;
        Loading();
    }

    /// <inheritdoc />
    public IStash Stash { get; set; } = null!;

    /// <summary>Props of the entity for VM <paramref name="name"/>.</summary>
    public static Props Props(string name, VmHostContext host) => Akka.Actor.Props.Create(() => new VmEntity(name, host));

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(cause =>
    {
        // The VM actor failed (e.g. the backend could not create the VM): it is stopped; the entity reports it failed.
        _failure = cause.Message;
        _logger.LogError(cause, "VM {Vm} failed on node {Node}", _name, _host.NodeName);
        return Directive.Stop;
    });

    /// <inheritdoc />
    protected override void PreStart() => _host.Replicator.Tell(Dsl.Get(VmRegistry.Key, ReadLocal.Instance));

    private string Node => _host.NodeName;

    private void Loading()
    {
        Receive<GetSuccess>(success => Loaded(success.Get(VmRegistry.Key).Entries.GetValueOrDefault(_name)));
        Receive<NotFound>(_ => Loaded(null));
        Receive<GetFailure>(_ => Loaded(null));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Loaded(VmRecord? record)
    {
        if (record is null && !_askedMajority)
        {
            // Created a moment ago through another node: this replica may not have it yet; a majority has.
            _askedMajority = true;
            _host.Replicator.Tell(Dsl.Get(VmRegistry.Key, VmRegistry.Majority));
            return;
        }

        if (record is null)
        {
            Forget();
            return;
        }

        _spec = record.Spec;
        if (record.Ended is { } ended)
        {
            _state = VmStates.Stopped;
            _message = ended;
        }
        else if (NodeFiles.Problem(_spec, Node) is { } problem)
        {
            _state = VmStates.Failed;
            _message = problem;
            _logger.LogWarning("VM {Vm} cannot run on node {Node}: {Problem}", _name, Node, problem);
        }
        else
        {
            BootVm(_spec);
        }

        Become(Active);
        Stash.UnstashAll();
    }

    private void BootVm(ClusterVmSpec spec)
    {
        try
        {
            byte[] image = NodeFiles.ReadImage(spec);
            var console = ConsoleTarget.None;
            if (spec.ConsoleLogPath is { } path)
            {
                // The node that boots the VM says so in its console log first: which node ran it when is on record.
                File.AppendAllText(path, $"actorvmm: VM {_name} boots on node {Node} at {DateTimeOffset.UtcNow:O}\n");
                console = ConsoleTarget.File(path);
            }

            var definition = new VmDefinition(_name, spec.MemoryBytes, spec.Vcpus, image, [], console, ResetAction.Stop);
            _vm = Context.ActorOf(VmActor.Props(definition, _host.Hypervisor, _host.Loggers, _host.Supervision), VmChildName);
            Context.Watch(_vm);
            _vm.Tell(VmProtocol.Start.Instance);
            _state = VmStates.Starting;
            _logger.LogInformation("VM {Vm} boots on node {Node} ({Resources})", _name, Node, spec.Resources);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _state = VmStates.Failed;
            _message = $"VM '{_name}' cannot start on node {Node}: {ex.Message}";
            _logger.LogWarning("{Problem}", _message);
        }
    }

    private void Active()
    {
        Receive<VmProtocol.StateChanged>(OnStateChanged);
        Receive<VmProtocol.CommandAccepted>(_ => { });
        Receive<VmProtocol.CommandRejected>(rejected => _message = rejected.Reason);
        Receive<Terminated>(OnVmTerminated);
        Receive<VmEntityProtocol.Boot>(_ =>
        {
            if (_state == VmStates.Starting)
            {
                _bootWaiters.Add(Sender);
            }
            else
            {
                Sender.Tell(BootAnswer());
            }
        });
        Receive<VmEntityProtocol.GetInfo>(_ =>
        {
            var sender = Sender;
            InfoAsync(_vm, Snapshot()).PipeTo(sender);
        });
        Receive<VmEntityProtocol.Pause>(_ => Command(VmProtocol.Pause.Instance, "pause"));
        Receive<VmEntityProtocol.Resume>(_ => Command(VmProtocol.Resume.Instance, "resume"));
        ReceiveAsync<VmEntityProtocol.Remove>(_ => RemoveAsync());
        ReceiveAsync<VmEntityProtocol.HandOff>(async _ =>
        {
            // Hand-off (the node leaves) or the end of a passivation: stop the VM here cleanly.
            await StopVmAsync();
            Context.Stop(Self);
        });
        Receive<UpdateSuccess>(_ => { });
        Receive<IUpdateResponse>(failed => _logger.LogWarning("VM {Vm}: its end could not be recorded in the registry ({Answer})", _name, failed.GetType().Name));
    }

    private void OnStateChanged(VmProtocol.StateChanged changed)
    {
        _state = VmStates.Of(changed.State, changed.Exit);
        if (changed.Exit is { } exit)
        {
            _message = VmStates.Describe(exit);
        }

        if (_state != VmStates.Starting)
        {
            ReplyToBootWaiters();
        }

        if (changed.State == VmState.Stopped && !_stopping && _spec is not null)
        {
            // The guest ended by itself: record it, so a node that takes this VM over does not boot it again.
            _logger.LogInformation("VM {Vm} ended on node {Node}: {Exit}", _name, Node, _message);
            _host.Replicator.Tell(Dsl.Update(VmRegistry.Key, LWWDictionary<string, VmRecord>.Empty, VmRegistry.WriteMajority,
                map => map.SetItem(_host.Self, _name, new VmRecord(_spec, _message ?? "ended"))));
        }
    }

    private void OnVmTerminated(Terminated terminated)
    {
        if (!terminated.ActorRef.Equals(_vm))
        {
            return;
        }

        _vm = null;
        if (_state is VmStates.Stopped or VmStates.Failed)
        {
            return;
        }

        _state = VmStates.Failed;
        _message = $"VM '{_name}' failed on node {Node}: {_failure ?? "its actor stopped"}";
        ReplyToBootWaiters();
    }

    private void ReplyToBootWaiters()
    {
        foreach (var waiter in _bootWaiters)
        {
            waiter.Tell(BootAnswer());
        }

        _bootWaiters.Clear();
    }

    private object BootAnswer() => _state == VmStates.Failed
        ? new ClusterFleetProtocol.Refused(_name, _message ?? $"VM '{_name}' failed on node {Node}")
        : Snapshot();

    private VmInfo Snapshot() =>
        new(_name, _state, _backend, _spec?.MemoryBytes ?? 0, _spec?.Vcpus ?? 0, 0, 0, Node, _message);

    private void Command(object command, string verb)
    {
        var sender = Sender;
        if (_vm is not { } vm)
        {
            sender.Tell(new ClusterFleetProtocol.Refused(_name, $"VM '{_name}' has already ended ({_state}) on node {Node}"));
            return;
        }

        CommandAsync(vm, command, verb, Snapshot()).PipeTo(sender);
    }

    private static async Task<object> CommandAsync(IActorRef vm, object command, string verb, VmInfo snapshot)
    {
        object answer;
        try
        {
            answer = await vm.Ask(command, CommandTimeout);
        }
        catch (AskTimeoutException)
        {
            return new ClusterFleetProtocol.Refused(snapshot.Name, $"VM '{snapshot.Name}' did not answer {verb} within {CommandTimeout.TotalSeconds} s on node {snapshot.Node}");
        }

        return answer is VmProtocol.CommandRejected rejected
            ? new ClusterFleetProtocol.Refused(snapshot.Name, $"VM '{snapshot.Name}' refused {verb}: {rejected.Reason}")
            : await InfoAsync(vm, snapshot);
    }

    private static async Task<object> InfoAsync(IActorRef? vm, VmInfo snapshot)
    {
        if (vm is null)
        {
            return snapshot;
        }

        try
        {
            return await vm.Ask(VmProtocol.GetStatus.Instance, CommandTimeout) is VmProtocol.VmStatus status
                ? VmStates.Info(status, snapshot)
                : snapshot;
        }
        catch (AskTimeoutException)
        {
            return snapshot;
        }
    }

    private async Task RemoveAsync()
    {
        var sender = Sender;
        _stopping = true;
        await StopVmAsync();
        try
        {
            await VmRegistry.RemoveAsync(_host.Replicator, _host.Self, _name, VmRegistry.WriteMajority);
        }
        catch (Exception ex) when (ex is RegistryUnavailableException or AskTimeoutException)
        {
            sender.Tell(new ClusterFleetProtocol.Refused(_name, $"VM '{_name}' stopped on node {Node} but is still in the registry: {ex.Message}; stop it again"));
            return;
        }

        _logger.LogInformation("VM {Vm} stopped and removed on node {Node}", _name, Node);
        sender.Tell(Snapshot());
        Forget();
    }

    /// <summary>Stops the VM actor cleanly (its vCPUs, devices and console flushed), or gives up after <see cref="StopTimeout"/>.</summary>
    private async Task StopVmAsync()
    {
        _stopping = true;
        if (_vm is { } vm)
        {
            try
            {
                await vm.Ask(VmProtocol.Stop.Instance, CommandTimeout);
                await vm.Ask(VmProtocol.AwaitExit.Instance, StopTimeout);
            }
            catch (AskTimeoutException)
            {
                _logger.LogWarning("VM {Vm} did not stop within {Timeout} on node {Node}; its actor is stopped anyway", _name, StopTimeout, Node);
            }

            Context.Unwatch(vm);
            Context.Stop(vm);
            _vm = null;
        }

        if (_state is not VmStates.Failed)
        {
            _state = VmStates.Stopped;
        }
    }

    /// <summary>No such VM (any more): answer so, and ask the shard to passivate this entity, which also drops it from the remembered entities.</summary>
    private void Forget()
    {
        Become(() =>
        {
            Receive<VmEntityProtocol.HandOff>(_ => Context.Stop(Self));
            ReceiveAny(_ => Sender.Tell(new ClusterFleetProtocol.Refused(_name, $"no VM called '{_name}' in the cluster")));
        });
        Stash.UnstashAll();
        Context.Parent.Tell(new Passivate(VmEntityProtocol.HandOff.Instance));
    }
}
