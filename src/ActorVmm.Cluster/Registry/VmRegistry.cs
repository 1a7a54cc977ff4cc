using ActorVmm.Cluster.Placement;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;

namespace ActorVmm.Cluster.Registry;

/// <summary>
/// The cluster's VM definitions: one replicated map (Akka.DistributedData LWW map, key
/// <see cref="KeyId"/>) from VM name to <see cref="VmRecord"/>, durable on every node's disk (LMDB,
/// akka.cluster.distributed-data.durable.keys). Written with majority consistency and read with majority
/// consistency where placement depends on it, so a read always sees a completed write.
/// </summary>
public static class VmRegistry
{
    /// <summary>The replicated key's id (listed in akka.cluster.distributed-data.durable.keys).</summary>
    public const string KeyId = "vm-definitions";

    /// <summary>The replicated key.</summary>
    public static LWWDictionaryKey<string, VmRecord> Key { get; } = new(KeyId);

    /// <summary>How long a majority read or write may take.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>A majority read.</summary>
    public static IReadConsistency Majority => new ReadMajority(Timeout);

    /// <summary>A majority write.</summary>
    public static IWriteConsistency WriteMajority => new WriteMajority(Timeout);

    /// <summary>Reads the registry; throws <see cref="RegistryUnavailableException"/> when the replicas did not answer in time.</summary>
    public static async Task<IReadOnlyDictionary<string, VmRecord>> ReadAsync(IActorRef replicator, IReadConsistency consistency)
    {
        ArgumentNullException.ThrowIfNull(replicator);
        var answer = await replicator.Ask<IGetResponse>(Dsl.Get(Key, consistency), Timeout + TimeSpan.FromSeconds(1));
        return answer switch
        {
            GetSuccess success => success.Get(Key).Entries,
            NotFound => new Dictionary<string, VmRecord>(),
            _ => throw new RegistryUnavailableException($"the VM registry could not be read ({answer.GetType().Name})"),
        };
    }

    /// <summary>Reads with majority consistency, or the local replica when the majority does not answer in time.</summary>
    public static async Task<IReadOnlyDictionary<string, VmRecord>> ReadMajorityOrLocalAsync(IActorRef replicator)
    {
        try
        {
            return await ReadAsync(replicator, Majority);
        }
        catch (Exception ex) when (ex is RegistryUnavailableException or AskTimeoutException)
        {
            return await ReadAsync(replicator, ReadLocal.Instance);
        }
    }

    /// <summary>Records (or replaces) a VM; throws <see cref="RegistryUnavailableException"/> when a majority did not confirm it.</summary>
    public static Task PutAsync(IActorRef replicator, UniqueAddress self, VmRecord record, IWriteConsistency consistency)
    {
        ArgumentNullException.ThrowIfNull(record);
        return UpdateAsync(replicator, consistency, map => map.SetItem(self, record.Spec.Name, record));
    }

    /// <summary>Forgets a VM; throws <see cref="RegistryUnavailableException"/> when a majority did not confirm it.</summary>
    public static Task RemoveAsync(IActorRef replicator, UniqueAddress self, string name, IWriteConsistency consistency) =>
        UpdateAsync(replicator, consistency, map => map.Remove(self, name));

    /// <summary>What each VM that is meant to run takes (ended VMs take nothing).</summary>
    public static IReadOnlyDictionary<string, VmResources> Resources(IReadOnlyDictionary<string, VmRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return records.Where(r => r.Value.Ended is null).ToDictionary(r => r.Key, r => r.Value.Spec.Resources, StringComparer.Ordinal);
    }

    private static async Task UpdateAsync(IActorRef replicator, IWriteConsistency consistency, Func<LWWDictionary<string, VmRecord>, LWWDictionary<string, VmRecord>> modify)
    {
        ArgumentNullException.ThrowIfNull(replicator);
        var answer = await replicator.Ask<IUpdateResponse>(Dsl.Update(Key, LWWDictionary<string, VmRecord>.Empty, consistency, modify), Timeout + TimeSpan.FromSeconds(1));
        if (answer is not UpdateSuccess)
        {
            throw new RegistryUnavailableException($"the VM registry update was not confirmed by a majority of nodes ({answer.GetType().Name})");
        }
    }
}

/// <summary>The replicated VM registry did not answer as asked (not enough nodes reachable in time).</summary>
public sealed class RegistryUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RegistryUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public RegistryUnavailableException()
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public RegistryUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
