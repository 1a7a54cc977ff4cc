using Akka.Actor;

namespace ActorVmm.Cluster.Placement;

/// <summary>Node capacities from the cluster's membership: an up, reachable member with the VM host role and capacity roles (<see cref="NodeRoles"/>).</summary>
public sealed class ClusterCapacitySource : INodeCapacitySource
{
    private readonly Akka.Cluster.Cluster _cluster;

    /// <summary>Reads <paramref name="cluster"/>'s current state on every call.</summary>
    public ClusterCapacitySource(Akka.Cluster.Cluster cluster) => _cluster = cluster ?? throw new ArgumentNullException(nameof(cluster));

    /// <inheritdoc />
    public NodeView? Describe(IActorRef region)
    {
        ArgumentNullException.ThrowIfNull(region);
        // The local region's path has no host and port: it is this node's.
        var address = region.Path.Address.HasLocalScope ? _cluster.SelfAddress : region.Path.Address;
        return Describe(address);
    }

    /// <summary>The node at <paramref name="address"/>, or null when it may not take VMs now.</summary>
    public NodeView? Describe(Address address)
    {
        var state = _cluster.State;
        var member = state.Members.FirstOrDefault(m => m.Address.Equals(address));
        if (member is null || member.Status != Akka.Cluster.MemberStatus.Up || state.Unreachable.Contains(member))
        {
            return null;
        }

        return NodeRoles.Capacity(member.Roles) is { } capacity ? new NodeView(address.ToString(), capacity) : null;
    }
}
