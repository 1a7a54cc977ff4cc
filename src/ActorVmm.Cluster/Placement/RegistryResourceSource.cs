using ActorVmm.Cluster.Registry;
using Akka.Actor;

namespace ActorVmm.Cluster.Placement;

/// <summary>VM resources from the replicated registry, read with majority consistency so a VM whose creation was confirmed is seen.</summary>
public sealed class RegistryResourceSource : IVmResourceSource
{
    private readonly IActorRef _replicator;

    /// <summary>Reads through <paramref name="replicator"/> (the node's ddata replicator).</summary>
    public RegistryResourceSource(IActorRef replicator) => _replicator = replicator ?? throw new ArgumentNullException(nameof(replicator));

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, VmResources>> GetAsync() =>
        VmRegistry.Resources(await VmRegistry.ReadMajorityOrLocalAsync(_replicator));
}
