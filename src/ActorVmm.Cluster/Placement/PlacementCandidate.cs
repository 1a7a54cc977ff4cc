namespace ActorVmm.Cluster.Placement;

/// <summary>A node that may take a VM, as placement sees it.</summary>
/// <typeparam name="TNode">How the caller names the node (a shard region, an address).</typeparam>
/// <param name="Node">The node.</param>
/// <param name="Name">The node's address, for ordering ties and for messages.</param>
/// <param name="Capacity">What the node declared it can give VMs.</param>
/// <param name="Used">What its VMs already take.</param>
/// <param name="VmCount">How many VMs it runs.</param>
public sealed record PlacementCandidate<TNode>(TNode Node, string Name, VmResources Capacity, VmResources Used, int VmCount);
