using ActorVmm.Cluster.Entities;
using ActorVmm.Cluster.Gateway;
using ActorVmm.Cluster.Node;
using ActorVmm.Cluster.Placement;
using ActorVmm.Cluster.Registry;
using Akka.Cluster.Sharding;
using Akka.Configuration;

namespace ActorVmm.Cluster.Tests.Support;

/// <summary>Nodes of one test cluster, a guest for its VMs, and conditions awaited with generous deadlines.</summary>
internal static class TestCluster
{
    public const string Name = "actorvmm";

    public const ulong MiB = 1024 * 1024;

    /// <summary>Deadline for a cluster to form, converge or fail over on a loaded 2-core machine.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    /// <summary>How long one request to a gateway may take.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(45);

    /// <summary>
    /// What the tests change of the shipped configuration: quiet logs (none at all while a node's system stops), and no coordinated shutdown when the
    /// actor system is terminated, so that <see cref="TestNode.CrashAsync"/> is a crash, not a graceful leave.
    /// Failure detection, the split-brain resolver and sharding are as shipped.
    /// </summary>
    public static Config TestSettings { get; } = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = OFF
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """);

    /// <summary><c>cli; hlt</c>: the guest stops with interrupts off and stays "running" until the host stops it.</summary>
    public static byte[] HaltingGuest { get; } = [0xFA, 0xF4];

    /// <summary>A VM of <paramref name="megabytes"/> MiB and one vCPU running <see cref="HaltingGuest"/>, its console appended to <paramref name="consoleLog"/>.</summary>
    public static ClusterVmSpec Vm(string name, ulong megabytes, string? consoleLog = null) =>
        new(name, megabytes * MiB, 1, null, HaltingGuest, consoleLog);

    /// <summary>Awaits <paramref name="condition"/> (polled every half second) until <see cref="Patience"/>; fails with <paramref name="what"/> and the last state.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string what, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? Patience);
        T last = await probe();
        while (!condition(last))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{what}: not true within {(patience ?? Patience).TotalSeconds} s; last seen: {Describe(last)}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500));
            last = await probe();
        }

        return last;
    }

    /// <summary>Awaits every node seeing all of <paramref name="nodes"/> up, and each one's VM shard region known to the coordinator.</summary>
    public static async Task AllUpAsync(IReadOnlyList<TestNode> nodes)
    {
        await EventuallyAsync(
            () => Task.FromResult(nodes.Select(n => n.Cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up)).ToList()),
            counts => counts.All(c => c == nodes.Count),
            $"all {nodes.Count} nodes up");
        using var deadline = new CancellationTokenSource(Patience);
        foreach (var node in nodes)
        {
            await ClusterNode.WhenTakingVmsAsync(node.System, ClusterSharding.Get(node.System).ShardRegion(ClusterNode.VmTypeName), deadline.Token);
        }
    }

    /// <summary>The cluster's VMs as <paramref name="node"/>'s gateway lists them (empty when it refused).</summary>
    public static async Task<IReadOnlyList<VmInfo>> ListAsync(TestNode node)
    {
        try
        {
            return await node.AskAsync(ClusterFleetProtocol.ListVms.Instance, RequestTimeout) is ClusterFleetProtocol.VmList list ? list.Vms : [];
        }
        catch (Akka.Actor.AskTimeoutException)
        {
            return [];
        }
    }

    /// <summary>Creates <paramref name="spec"/> through <paramref name="node"/>; returns the gateway's answer.</summary>
    public static Task<object> CreateAsync(TestNode node, ClusterVmSpec spec) =>
        node.AskAsync(new ClusterFleetProtocol.CreateVm(spec), FleetGateway.CreateTimeout + TimeSpan.FromSeconds(15));

    /// <summary>The resources the running VMs of <paramref name="vms"/> take on each node.</summary>
    public static Dictionary<string, VmResources> UseByNode(IEnumerable<VmInfo> vms) =>
        vms.Where(v => v.State == VmStates.Running)
            .GroupBy(v => v.Node, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Aggregate(VmResources.Zero, (sum, v) => sum + new VmResources(v.MemoryBytes, v.Vcpus)), StringComparer.Ordinal);

    private static string Describe<T>(T value) => value switch
    {
        IEnumerable<VmInfo> vms => string.Join("; ", vms.Select(v => $"{v.Name} {v.State} {v.Node} {v.Message}")),
        System.Collections.IEnumerable items and not string => string.Join(", ", items.Cast<object>()),
        _ => value?.ToString() ?? "null",
    };
}
