using ActorVmm.Cluster.Entities;
using ActorVmm.Cluster.Placement;
using ActorVmm.Cluster.Registry;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Cluster.Gateway;

/// <summary>
/// One per VM host at <c>/user/fleet</c>, registered with the ClusterClient receptionist: where
/// control commands arrive. It checks a new VM's definition and the cluster's free capacity,
/// records the definition in the replicated registry, and boots the VM through the shard region,
/// which places it (<see cref="CapacityAllocationStrategy"/>); commands reach a VM wherever it runs
/// through the same region. Requests run concurrently; only the names being created are kept here.
/// </summary>
public sealed class FleetGateway : ReceiveActor
{
    /// <summary>How long a create may take, from the registry write to the VM running on its node.</summary>
    public static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a VM may take to answer a listing before it is shown without its node.</summary>
    public static readonly TimeSpan ListTimeout = TimeSpan.FromSeconds(3);

    /// <summary>How long a stat, pause, resume or stop may take.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan StatsTimeout = TimeSpan.FromSeconds(3);

    private readonly IActorRef _region;
    private readonly IActorRef _replicator;
    private readonly Akka.Cluster.Cluster _cluster;
    private readonly ClusterCapacitySource _capacities;
    private readonly ILogger _logger;
    private readonly HashSet<string> _creating = new(StringComparer.Ordinal);

    /// <summary>Creates the gateway over the node's VM shard region and ddata replicator.</summary>
    public FleetGateway(IActorRef region, IActorRef replicator, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        _region = region ?? throw new ArgumentNullException(nameof(region));
        _replicator = replicator ?? throw new ArgumentNullException(nameof(replicator));
        _cluster = Akka.Cluster.Cluster.Get(Context.System);
        _capacities = new ClusterCapacitySource(_cluster);
        _logger = loggers.CreateLogger<FleetGateway>();

        Receive<ClusterFleetProtocol.CreateVm>(OnCreate);
        Receive<CreateDone>(done =>
        {
            _creating.Remove(done.Name);
            done.ReplyTo.Tell(done.Answer);
        });
        Receive<ClusterFleetProtocol.ListVms>(_ => ListAsync().PipeTo(Sender));
        Receive<ClusterFleetProtocol.VmCommand>(command => CommandAsync(command).PipeTo(Sender));
        Receive<ClusterFleetProtocol.ListNodes>(_ => NodesAsync().PipeTo(Sender));
    }

    /// <summary>Props of the gateway.</summary>
    public static Props Props(IActorRef region, IActorRef replicator, ILoggerFactory loggers) =>
        Akka.Actor.Props.Create(() => new FleetGateway(region, replicator, loggers));

    private void OnCreate(ClusterFleetProtocol.CreateVm create)
    {
        var spec = create.Spec;
        if (spec?.Problem() is { } problem || spec is null)
        {
            Sender.Tell(new ClusterFleetProtocol.Refused(spec?.Name ?? string.Empty, spec is null ? "no VM definition given" : spec.Problem()!));
            return;
        }

        if (!_creating.Add(spec.Name))
        {
            Sender.Tell(new ClusterFleetProtocol.Refused(spec.Name, $"VM '{spec.Name}' is being created already"));
            return;
        }

        var replyTo = Sender;
        CreateAsync(spec).PipeTo(Self, success: answer => new CreateDone(spec.Name, answer, replyTo));
    }

    private async Task<object> CreateAsync(ClusterVmSpec spec)
    {
        string name = spec.Name;
        try
        {
            var records = await VmRegistry.ReadMajorityOrLocalAsync(_replicator);
            if (records.ContainsKey(name))
            {
                return new ClusterFleetProtocol.Refused(name, $"a VM called '{name}' already exists in the cluster (see 'actorvmm list --cluster')");
            }

            // Refuse up front, with each node's free capacity, what the strategy could not place.
            var candidates = await CandidatesAsync(records);
            if (CapacityPlacement.Choose(candidates, spec.Resources) is null)
            {
                return new ClusterFleetProtocol.Refused(name, CapacityPlacement.NoRoom(name, spec.Resources, candidates));
            }

            await VmRegistry.PutAsync(_replicator, _cluster.SelfUniqueAddress, new VmRecord(spec), VmRegistry.WriteMajority);
        }
        catch (Exception ex) when (ex is RegistryUnavailableException or AskTimeoutException)
        {
            return new ClusterFleetProtocol.Refused(name, $"VM '{name}' not created: {ex.Message}");
        }

        object answer;
        try
        {
            answer = await _region.Ask(new ShardingEnvelope(name, VmEntityProtocol.Boot.Instance), CreateTimeout);
        }
        catch (AskTimeoutException)
        {
            answer = new ClusterFleetProtocol.Refused(name, $"VM '{name}' was not running within {CreateTimeout.TotalSeconds} s (no node with room took it); not created");
        }

        if (answer is VmInfo info)
        {
            _logger.LogInformation("VM {Vm} created on node {VmNode}", name, info.Node);
            return new ClusterFleetProtocol.VmCreated(info);
        }

        // Not created: forget it, wherever its entity is or will be.
        _region.Tell(new ShardingEnvelope(name, VmEntityProtocol.Remove.Instance));
        try
        {
            await VmRegistry.RemoveAsync(_replicator, _cluster.SelfUniqueAddress, name, VmRegistry.WriteMajority);
        }
        catch (Exception ex) when (ex is RegistryUnavailableException or AskTimeoutException)
        {
            _logger.LogWarning("VM {Vm} was refused but could not be removed from the registry: {Reason}", name, ex.Message);
        }

        return answer as ClusterFleetProtocol.Refused ?? new ClusterFleetProtocol.Refused(name, $"VM '{name}': unexpected answer {answer.GetType().Name}");
    }

    private async Task<object> ListAsync()
    {
        IReadOnlyDictionary<string, VmRecord> records;
        try
        {
            records = await VmRegistry.ReadMajorityOrLocalAsync(_replicator);
        }
        catch (Exception ex) when (ex is RegistryUnavailableException or AskTimeoutException)
        {
            return new ClusterFleetProtocol.Refused(string.Empty, ex.Message);
        }

        var vms = await Task.WhenAll(records.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => InfoAsync(r.Value.Spec)));
        return new ClusterFleetProtocol.VmList(vms);
    }

    private async Task<VmInfo> InfoAsync(ClusterVmSpec spec)
    {
        var unplaced = new VmInfo(spec.Name, VmStates.Pending, "-", spec.MemoryBytes, spec.Vcpus, 0, 0, "-");
        try
        {
            return await _region.Ask(new ShardingEnvelope(spec.Name, VmEntityProtocol.GetInfo.Instance), ListTimeout) is VmInfo info
                ? info
                : unplaced;
        }
        catch (AskTimeoutException)
        {
            return unplaced with { Message = $"no answer within {ListTimeout.TotalSeconds} s (not placed yet, or its node is unreachable)" };
        }
    }

    private async Task<object> CommandAsync(ClusterFleetProtocol.VmCommand command)
    {
        object? message = command.Verb switch
        {
            "stat" => VmEntityProtocol.GetInfo.Instance,
            "pause" => VmEntityProtocol.Pause.Instance,
            "resume" => VmEntityProtocol.Resume.Instance,
            "stop" => VmEntityProtocol.Remove.Instance,
            _ => null,
        };
        if (message is null)
        {
            return new ClusterFleetProtocol.Refused(command.Name, $"unknown command '{command.Verb}': expected {string.Join(", ", ClusterFleetProtocol.Verbs)}");
        }

        try
        {
            // Ask no entity about a name the registry does not have: the message would start one.
            var records = await VmRegistry.ReadAsync(_replicator, Akka.DistributedData.ReadLocal.Instance);
            if (!records.ContainsKey(command.Name))
            {
                records = await VmRegistry.ReadMajorityOrLocalAsync(_replicator);
            }

            if (!records.ContainsKey(command.Name))
            {
                return new ClusterFleetProtocol.Refused(command.Name, $"no VM called '{command.Name}' in the cluster (see 'actorvmm list --cluster')");
            }

            return await _region.Ask(new ShardingEnvelope(command.Name, message), CommandTimeout);
        }
        catch (Exception ex) when (ex is RegistryUnavailableException or AskTimeoutException)
        {
            return new ClusterFleetProtocol.Refused(command.Name, $"{command.Verb} {command.Name}: {ex.Message}");
        }
    }

    private async Task<object> NodesAsync()
    {
        IReadOnlyDictionary<string, VmRecord> records;
        Dictionary<string, PlacementCandidate<string>> used;
        try
        {
            records = await VmRegistry.ReadMajorityOrLocalAsync(_replicator);
            used = (await CandidatesAsync(records)).ToDictionary(c => c.Name, StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is RegistryUnavailableException or AskTimeoutException)
        {
            return new ClusterFleetProtocol.Refused(string.Empty, ex.Message);
        }

        var state = _cluster.State;
        var nodes = state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(member =>
        {
            string address = member.Address.ToString();
            var capacity = NodeRoles.Capacity(member.Roles) ?? VmResources.Zero;
            var use = used.GetValueOrDefault(address);
            string status = member.Status.ToString().ToLowerInvariant() + (state.Unreachable.Contains(member) ? ", unreachable" : string.Empty);
            string roles = member.HasRole(NodeRoles.Host) ? NodeRoles.Host : string.Join(',', member.Roles);
            return new NodeInfo(address, status, roles, capacity.MemoryBytes, capacity.Vcpus, use?.Used.MemoryBytes ?? 0, use?.Used.Vcpus ?? 0, use?.VmCount ?? 0);
        }).ToList();
        return new ClusterFleetProtocol.NodeList(nodes);
    }

    /// <summary>Every node that may take VMs now, with what its VMs take (from the regions' shard lists and the registry).</summary>
    private async Task<List<PlacementCandidate<string>>> CandidatesAsync(IReadOnlyDictionary<string, VmRecord> records)
    {
        var sizes = VmRegistry.Resources(records);
        var stats = await _region.Ask<ClusterShardingStats>(new GetClusterShardingStats(StatsTimeout), StatsTimeout + TimeSpan.FromSeconds(1));
        var candidates = new List<PlacementCandidate<string>>();
        foreach (var (regionAddress, regionStats) in stats.Regions)
        {
            var address = regionAddress.HasLocalScope ? _cluster.SelfAddress : regionAddress;
            if (_capacities.Describe(address) is not { } node)
            {
                continue;
            }

            var used = VmResources.Zero;
            int count = 0;
            foreach (string shard in regionStats.Stats.Keys)
            {
                if (sizes.TryGetValue(shard, out var size) && !size.IsZero)
                {
                    used += size;
                    count++;
                }
            }

            candidates.Add(new PlacementCandidate<string>(node.Name, node.Name, node.Capacity, used, count));
        }

        return candidates;
    }

    /// <summary>A create has finished (local only).</summary>
    private sealed record CreateDone(string Name, object Answer, IActorRef ReplyTo);
}
