using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.DistributedData;

namespace ActorVmm.Cluster.Placement;

/// <summary>
/// Shard allocation by capacity, one VM per shard (shard id = VM name): a new shard goes where
/// <see cref="CapacityPlacement"/> says, so no node is ever given more guest memory or vCPUs than it
/// declared; when no node has room the allocation fails with the reason, the coordinator logs it,
/// and the VM waits unplaced (nothing is dropped) until a node joins or a message to it retries.
/// It never rebalances: moving a running VM means rebooting it, so VMs move only when their node
/// leaves or dies.
/// </summary>
/// <remarks>
/// The coordinator may ask for a second shard before the first one's allocation is in the map it
/// passes (the calls are asynchronous), so each decision is reserved here until the map shows it,
/// its region is gone, or <see cref="ReservationLifetime"/> has passed; calls are serialized.
/// </remarks>
public sealed class CapacityAllocationStrategy : IActorSystemDependentAllocationStrategy
{
    /// <summary>How long a decision counts against its node before the coordinator's map must show it.</summary>
    public static readonly TimeSpan ReservationLifetime = TimeSpan.FromSeconds(30);

    private readonly Lock _order = new();
    private readonly Dictionary<string, Reservation> _reservations = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private IVmResourceSource? _resources;
    private INodeCapacitySource? _nodes;

    // The last decision asked for: each call waits for the one before it (under _order).
    private Task _previous = Task.CompletedTask;

    /// <summary>The strategy a node starts sharding with; it reads the registry and the membership of the system it is started in.</summary>
    public CapacityAllocationStrategy()
        : this(null, null, null)
    {
    }

    /// <summary>A strategy over given sources (tests).</summary>
    public CapacityAllocationStrategy(IVmResourceSource? resources, INodeCapacitySource? nodes, TimeProvider? time)
    {
        _resources = resources;
        _nodes = nodes;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public void Start(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        _resources ??= new RegistryResourceSource(DistributedData.Get(system).Replicator);
        _nodes ??= new ClusterCapacitySource(Akka.Cluster.Cluster.Get(system));
    }

    /// <inheritdoc />
    public Task<IActorRef> AllocateShard(IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        ArgumentNullException.ThrowIfNull(shardId);
        ArgumentNullException.ThrowIfNull(currentShardAllocations);
        lock (_order)
        {
            var decision = DecideAfterAsync(_previous, shardId, currentShardAllocations);
            _previous = decision;
            return decision;
        }
    }

    /// <summary>Never moves a shard: a VM moves only when its node leaves or dies.</summary>
    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations, IImmutableSet<string> rebalanceInProgress) =>
        Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);

    private async Task<IActorRef> DecideAfterAsync(Task previous, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> allocations)
    {
        // Whether the previous decision placed its VM or found no room, this one comes after it.
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var resources = _resources ?? throw new InvalidOperationException("the allocation strategy was not started");
        var sizes = await resources.GetAsync();
        var request = sizes.GetValueOrDefault(shardId);
        var candidates = Candidates(allocations, sizes);
        var choice = CapacityPlacement.Choose(candidates, request)
            ?? throw new NoCapacityException(CapacityPlacement.NoRoom(shardId, request, candidates));
        if (!request.IsZero)
        {
            _reservations[shardId] = new Reservation(choice.Node, request, _time.GetUtcNow());
        }

        return choice.Node;
    }

    private List<PlacementCandidate<IActorRef>> Candidates(IImmutableDictionary<IActorRef, IImmutableList<string>> allocations, IReadOnlyDictionary<string, VmResources> sizes)
    {
        var nodes = _nodes ?? throw new InvalidOperationException("the allocation strategy was not started");
        PruneReservations(allocations);
        var candidates = new List<PlacementCandidate<IActorRef>>(allocations.Count);
        foreach (var (region, shards) in allocations)
        {
            if (nodes.Describe(region) is not { } node)
            {
                continue;
            }

            var used = VmResources.Zero;
            int count = 0;
            foreach (string shard in shards)
            {
                if (sizes.TryGetValue(shard, out var size) && !size.IsZero)
                {
                    used += size;
                    count++;
                }
            }

            foreach (var reservation in _reservations.Values.Where(r => r.Region.Equals(region)))
            {
                used += reservation.Resources;
                count++;
            }

            candidates.Add(new PlacementCandidate<IActorRef>(region, node.Name, node.Capacity, used, count));
        }

        return candidates;
    }

    /// <summary>Drops reservations the coordinator's map now shows (anywhere), whose region is gone, or that are too old.</summary>
    private void PruneReservations(IImmutableDictionary<IActorRef, IImmutableList<string>> allocations)
    {
        var now = _time.GetUtcNow();
        var allocated = allocations.Values.SelectMany(s => s).ToHashSet(StringComparer.Ordinal);
        foreach (var (shard, reservation) in _reservations.ToList())
        {
            if (allocated.Contains(shard) || !allocations.ContainsKey(reservation.Region) || now - reservation.At > ReservationLifetime)
            {
                _reservations.Remove(shard);
            }
        }
    }

    private sealed record Reservation(IActorRef Region, VmResources Resources, DateTimeOffset At);
}

/// <summary>No node has room for a VM; the message names each node's free capacity.</summary>
public sealed class NoCapacityException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NoCapacityException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public NoCapacityException()
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public NoCapacityException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
