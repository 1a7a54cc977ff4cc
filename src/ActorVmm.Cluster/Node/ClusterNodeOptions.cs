using ActorVmm.Cluster.Placement;

namespace ActorVmm.Cluster.Node;

/// <summary>A VM host's place in the cluster.</summary>
/// <param name="ClusterName">The cluster's name: the actor system name every node and client uses.</param>
/// <param name="Self">The address and port this node binds and is known by.</param>
/// <param name="Seeds">Seed nodes to join (this node is a seed of itself when it is among them).</param>
/// <param name="Capacity">Guest memory and vCPUs this node offers VMs.</param>
/// <param name="StateDirectory">Where the node keeps its durable replicated state (LMDB).</param>
public sealed record ClusterNodeOptions(string ClusterName, ClusterEndpoint Self, IReadOnlyList<ClusterEndpoint> Seeds, VmResources Capacity, string StateDirectory)
{
    /// <summary>The default cluster (actor system) name.</summary>
    public const string DefaultClusterName = "actorvmm";

    /// <summary>The default transport port of a node.</summary>
    public const int DefaultPort = 4053;
}
