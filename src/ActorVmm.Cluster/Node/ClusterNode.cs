using ActorVmm.Actors.Supervision;
using ActorVmm.Cluster.Entities;
using ActorVmm.Cluster.Gateway;
using ActorVmm.Cluster.Placement;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Client;
using Akka.DistributedData;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Cluster.Node;

/// <summary>Starts a VM host's cluster parts in an actor system configured by <see cref="ClusterNodeConfig.ForNode"/>.</summary>
public static class ClusterNode
{
    /// <summary>The sharded entity type of VMs.</summary>
    public const string VmTypeName = "vm";

    /// <summary>How long one look at the coordinator's regions may take in <see cref="WhenTakingVmsAsync"/>.</summary>
    public static readonly TimeSpan RegionCheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Completes once this node's VM shard region is registered with the shard coordinator: from then on
    /// placement may choose this node (a member that is up but not registered yet is not a candidate).
    /// </summary>
    public static async Task WhenTakingVmsAsync(ActorSystem system, IActorRef region, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(region);
        var self = Akka.Cluster.Cluster.Get(system).SelfAddress;
        while (true)
        {
            try
            {
                var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(RegionCheckTimeout), RegionCheckTimeout + TimeSpan.FromSeconds(1), token);
                if (stats.Regions.Keys.Any(address => address.HasLocalScope || address.Equals(self)))
                {
                    return;
                }
            }
            catch (AskTimeoutException)
            {
                // No coordinator yet (it starts on the oldest node once the cluster is up): look again.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), token);
        }
    }

    /// <summary>
    /// Starts the VM shard region (entities = VMs, placed by <see cref="CapacityAllocationStrategy"/>,
    /// remembered), the fleet gateway at <c>/user/fleet</c>, and registers the gateway with the
    /// ClusterClient receptionist. Returns the shard region.
    /// </summary>
    public static IActorRef StartVmHost(ActorSystem system, IHypervisor hypervisor, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(hypervisor);
        ArgumentNullException.ThrowIfNull(loggers);
        var cluster = Akka.Cluster.Cluster.Get(system);
        var replicator = DistributedData.Get(system).Replicator;
        var host = new VmHostContext(hypervisor, loggers, SupervisionSettings.FromConfig(system.Settings.Config), replicator, cluster.SelfUniqueAddress);
        var sharding = ClusterSharding.Get(system);
        var settings = ClusterShardingSettings.Create(system).WithRole(NodeRoles.Host);
        var region = sharding.Start(
            VmTypeName,
            name => VmEntity.Props(name, host),
            settings,
            VmMessageExtractor.Instance,
            new CapacityAllocationStrategy(),
            VmEntityProtocol.HandOff.Instance);
        var gateway = system.ActorOf(FleetGateway.Props(region, replicator, loggers), ClusterFleetProtocol.GatewayName);
        ClusterClientReceptionist.Get(system).RegisterService(gateway);
        return region;
    }
}
