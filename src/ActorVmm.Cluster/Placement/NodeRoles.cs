using System.Globalization;

namespace ActorVmm.Cluster.Placement;

/// <summary>
/// A node's cluster roles: <see cref="Host"/> on nodes that run VMs (sharding's role), and its
/// declared capacity, carried in the membership gossip as two more roles so that whichever node
/// holds the shard coordinator knows every node's capacity without another protocol.
/// </summary>
public static class NodeRoles
{
    /// <summary>The role of nodes that host VMs (akka.cluster.sharding.role).</summary>
    public const string Host = "vm-host";

    /// <summary>Prefix of the role that carries the node's memory capacity in bytes.</summary>
    public const string MemoryPrefix = "capacity-mem:";

    /// <summary>Prefix of the role that carries the node's vCPU capacity.</summary>
    public const string VcpuPrefix = "capacity-vcpus:";

    /// <summary>The roles of a VM host with <paramref name="capacity"/>.</summary>
    public static IReadOnlyList<string> For(VmResources capacity) =>
    [
        Host,
        MemoryPrefix + capacity.MemoryBytes.ToString(CultureInfo.InvariantCulture),
        VcpuPrefix + capacity.Vcpus.ToString(CultureInfo.InvariantCulture),
    ];

    /// <summary>The capacity a VM host's roles declare, or null when they are not a VM host's.</summary>
    public static VmResources? Capacity(IEnumerable<string> roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        bool host = false;
        ulong? memory = null;
        int? vcpus = null;
        foreach (string role in roles)
        {
            if (role == Host)
            {
                host = true;
            }
            else if (role.StartsWith(MemoryPrefix, StringComparison.Ordinal) && ulong.TryParse(role.AsSpan(MemoryPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out ulong m))
            {
                memory = m;
            }
            else if (role.StartsWith(VcpuPrefix, StringComparison.Ordinal) && int.TryParse(role.AsSpan(VcpuPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int v))
            {
                vcpus = v;
            }
        }

        return host && memory is { } mem && vcpus is { } cpus ? new VmResources(mem, cpus) : null;
    }
}
