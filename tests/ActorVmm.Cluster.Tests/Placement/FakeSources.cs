using ActorVmm.Cluster.Placement;
using Akka.Actor;

namespace ActorVmm.Cluster.Tests.Placement;

/// <summary>VM sizes the test sets (the registry's role).</summary>
internal sealed class FakeResources : IVmResourceSource
{
    public Dictionary<string, VmResources> Sizes { get; } = new(StringComparer.Ordinal);

    public Task<IReadOnlyDictionary<string, VmResources>> GetAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, VmResources>>(new Dictionary<string, VmResources>(Sizes, StringComparer.Ordinal));
}

/// <summary>Node capacities the test sets (the membership's role); a region not listed is a node that may not take VMs.</summary>
internal sealed class FakeNodes : INodeCapacitySource
{
    public Dictionary<IActorRef, NodeView> Nodes { get; } = [];

    public NodeView? Describe(IActorRef region) => Nodes.GetValueOrDefault(region);
}
