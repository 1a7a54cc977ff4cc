using ActorVmm.Cluster.Registry;

namespace ActorVmm.Cluster.Gateway;

/// <summary>
/// Messages of the fleet gateway every VM host runs at <c>/user/fleet</c> (<see cref="FleetGateway"/>),
/// which control commands reach through Akka's ClusterClient. Data only: each crosses the wire.
/// </summary>
public static class ClusterFleetProtocol
{
    /// <summary>The gateway's actor name; ClusterClient sends to <c>/user/fleet</c>.</summary>
    public const string GatewayName = "fleet";

    /// <summary>The gateway's path for ClusterClient.Send.</summary>
    public const string GatewayPath = "/user/" + GatewayName;

    /// <summary>Creates a VM somewhere in the cluster and boots it. Answered with <see cref="VmCreated"/> or <see cref="Refused"/>.</summary>
    /// <param name="Spec">The VM.</param>
    public sealed record CreateVm(ClusterVmSpec Spec);

    /// <summary>The VM runs.</summary>
    /// <param name="Vm">Where and how.</param>
    public sealed record VmCreated(VmInfo Vm);

    /// <summary>Lists every VM of the cluster. Answered with <see cref="VmList"/> or <see cref="Refused"/>.</summary>
    public sealed record ListVms
    {
        /// <summary>The single instance.</summary>
        public static ListVms Instance { get; } = new();
    }

    /// <summary>The cluster's VMs, by name.</summary>
    /// <param name="Vms">Each VM with its node.</param>
    public sealed record VmList(IReadOnlyList<VmInfo> Vms);

    /// <summary>Applies a command (stat, pause, resume or stop) to a VM wherever it runs. Answered with <see cref="VmInfo"/> or <see cref="Refused"/>.</summary>
    /// <param name="Name">The VM.</param>
    /// <param name="Verb">stat, pause, resume or stop (stop also forgets the VM).</param>
    public sealed record VmCommand(string Name, string Verb);

    /// <summary>Lists the cluster's nodes with their capacity and use. Answered with <see cref="NodeList"/>.</summary>
    public sealed record ListNodes
    {
        /// <summary>The single instance.</summary>
        public static ListNodes Instance { get; } = new();
    }

    /// <summary>The cluster's nodes.</summary>
    /// <param name="Nodes">Each member.</param>
    public sealed record NodeList(IReadOnlyList<NodeInfo> Nodes);

    /// <summary>The request was not carried out.</summary>
    /// <param name="Name">The VM concerned, or empty.</param>
    /// <param name="Reason">Why, in words.</param>
    public sealed record Refused(string Name, string Reason);

    /// <summary>The verbs <see cref="VmCommand"/> accepts.</summary>
    public static IReadOnlyList<string> Verbs { get; } = ["stat", "pause", "resume", "stop"];
}

/// <summary>One VM as the cluster reports it.</summary>
/// <param name="Name">VM name.</param>
/// <param name="State">starting, running, paused, stopped, failed, or pending (not placed on a node yet).</param>
/// <param name="Backend">kvm or emulator ("-" while pending).</param>
/// <param name="MemoryBytes">Guest RAM.</param>
/// <param name="Vcpus">vCPUs.</param>
/// <param name="Exits">Port I/O and MMIO exits so far (since its last boot).</param>
/// <param name="Restarts">Supervision restarts so far.</param>
/// <param name="Node">The address of the node that runs it ("-" while pending).</param>
/// <param name="Message">How it ended or why it failed, when it did.</param>
public sealed record VmInfo(string Name, string State, string Backend, ulong MemoryBytes, int Vcpus, long Exits, int Restarts, string Node, string? Message = null);

/// <summary>One cluster member.</summary>
/// <param name="Address">Its address.</param>
/// <param name="Status">Its membership status (up, joining, leaving, ...), with ", unreachable" when it is.</param>
/// <param name="Roles">"vm-host" for VM hosts.</param>
/// <param name="CapacityMemoryBytes">Declared guest memory capacity (0 when not a host).</param>
/// <param name="CapacityVcpus">Declared vCPU capacity (0 when not a host).</param>
/// <param name="UsedMemoryBytes">Guest memory its VMs take.</param>
/// <param name="UsedVcpus">vCPUs its VMs take.</param>
/// <param name="Vms">VMs placed on it.</param>
public sealed record NodeInfo(string Address, string Status, string Roles, ulong CapacityMemoryBytes, int CapacityVcpus, ulong UsedMemoryBytes, int UsedVcpus, int Vms);
