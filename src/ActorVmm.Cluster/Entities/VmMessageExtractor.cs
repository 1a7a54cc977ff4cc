using Akka.Cluster.Sharding;

namespace ActorVmm.Cluster.Entities;

/// <summary>
/// One VM per shard: the entity id and the shard id are both the VM's name, so the allocation
/// strategy places each VM by its own size. Every message to a VM travels in a
/// <see cref="ShardingEnvelope"/> keyed by the VM's name, which the shard region unwraps itself
/// (as it does remember-entities' StartEntity); only the shard id is asked of this extractor.
/// </summary>
public sealed class VmMessageExtractor : IMessageExtractor
{
    /// <summary>The single instance.</summary>
    public static VmMessageExtractor Instance { get; } = new();

    /// <inheritdoc />
    public string? EntityId(object message) => null;

    /// <inheritdoc />
    public object EntityMessage(object message) => message;

    /// <inheritdoc />
    public string? ShardId(object message) => null;

    /// <inheritdoc />
    public string ShardId(string entityId, object? messageHint = null) => entityId;
}
