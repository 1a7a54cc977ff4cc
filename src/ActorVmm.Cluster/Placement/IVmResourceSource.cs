namespace ActorVmm.Cluster.Placement;

/// <summary>What each VM (one VM per shard, shard id = VM name) takes; VMs not listed take nothing.</summary>
public interface IVmResourceSource
{
    /// <summary>The resources of every VM meant to run, by name.</summary>
    Task<IReadOnlyDictionary<string, VmResources>> GetAsync();
}
