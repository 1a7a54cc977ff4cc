using ActorVmm.Actors.Supervision;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Cluster.Entities;

/// <summary>What every VM entity of a node shares: the node's backend, logging, supervision settings, its ddata replicator and its address.</summary>
/// <param name="Hypervisor">The backend that runs this node's VMs.</param>
/// <param name="Loggers">Logging.</param>
/// <param name="Supervision">Device restart policy (null: defaults).</param>
/// <param name="Replicator">The node's ddata replicator (the VM registry).</param>
/// <param name="Self">This node's unique address (the registry's writer id).</param>
public sealed record VmHostContext(IHypervisor Hypervisor, ILoggerFactory Loggers, SupervisionSettings? Supervision, IActorRef Replicator, UniqueAddress Self)
{
    /// <summary>This node's address as logs, console logs and listings show it.</summary>
    public string NodeName => Self.Address.ToString();
}
