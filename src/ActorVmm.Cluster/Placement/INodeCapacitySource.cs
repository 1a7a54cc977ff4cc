using Akka.Actor;

namespace ActorVmm.Cluster.Placement;

/// <summary>The node behind a shard region: its address and declared capacity, when it may take VMs now.</summary>
public interface INodeCapacitySource
{
    /// <summary>The region's node, or null when it may not take VMs (not up, unreachable, no declared capacity).</summary>
    NodeView? Describe(IActorRef region);
}

/// <summary>A node as placement sees it.</summary>
/// <param name="Name">Its address.</param>
/// <param name="Capacity">Its declared capacity.</param>
public sealed record NodeView(string Name, VmResources Capacity);
