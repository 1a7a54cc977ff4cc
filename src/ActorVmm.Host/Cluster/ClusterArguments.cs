using ActorVmm.Cluster.Node;
using ActorVmm.Host.Cli;

namespace ActorVmm.Host.Cluster;

/// <summary>Where a control command finds the cluster: --cluster HOST:PORT[,...], --cluster-name, and --config (TLS settings must match the nodes').</summary>
/// <param name="Contacts">Nodes to contact.</param>
/// <param name="ClusterName">The cluster's actor system name.</param>
/// <param name="ConfigHocon">Extra HOCON, or null.</param>
public sealed record ClusterTarget(IReadOnlyList<ClusterEndpoint> Contacts, string ClusterName, string? ConfigHocon)
{
    /// <summary>Validates the options; bad input is a <see cref="UsageException"/>.</summary>
    public static ClusterTarget Parse(string cluster, string clusterName, string? configFile)
    {
        IReadOnlyList<ClusterEndpoint> contacts;
        try
        {
            contacts = ClusterEndpoint.ParseList(cluster);
        }
        catch (FormatException ex)
        {
            throw new UsageException($"invalid --cluster: {ex.Message}", ex);
        }

        return new ClusterTarget(contacts, NodePlanner.ParseClusterName(clusterName), configFile is null ? null : RunPlanner.ReadConfig(configFile));
    }
}
