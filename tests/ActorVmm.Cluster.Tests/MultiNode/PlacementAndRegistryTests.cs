using ActorVmm.Cluster.Entities;
using ActorVmm.Cluster.Gateway;
using ActorVmm.Cluster.Placement;
using ActorVmm.Cluster.Registry;
using ActorVmm.Cluster.Tests.Support;
using Akka.DistributedData;
using static ActorVmm.Cluster.Tests.Support.TestCluster;

namespace ActorVmm.Cluster.Tests.MultiNode;

/// <summary>Three nodes in this process (actor systems on loopback ports): placement by capacity, and the registry every node agrees on.</summary>
public sealed class PlacementAndRegistryTests : IAsyncLifetime
{
    private const ulong VmMegabytes = 4;

    private readonly string _root = Directory.CreateTempSubdirectory("actorvmm-cluster-").FullName;
    private readonly List<TestNode> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Vms_created_through_one_node_fill_each_node_to_its_declared_capacity_and_no_further()
    {
        // vCPUs bind: 4 + 2 + 2 = 8 one-vCPU VMs fit, memory (64 + 32 + 32 MiB) would hold more.
        VmResources[] capacities = [new(64 * MiB, 4), new(32 * MiB, 2), new(32 * MiB, 2)];
        StartNodes(capacities);
        await AllUpAsync(_nodes);
        int fits = capacities.Sum(c => c.Vcpus);

        for (int i = 0; i < fits; i++)
        {
            var answer = await CreateAsync(_nodes[0], Vm($"vm{i}", VmMegabytes));
            var created = Assert.IsType<ClusterFleetProtocol.VmCreated>(answer);
            Assert.Equal(VmStates.Running, created.Vm.State);
        }

        var refused = Assert.IsType<ClusterFleetProtocol.Refused>(await CreateAsync(_nodes[0], Vm("one-too-many", VmMegabytes)));
        Assert.Contains("no node has room for VM 'one-too-many'", refused.Reason, StringComparison.Ordinal);

        var vms = await EventuallyAsync(() => ListAsync(_nodes[1]), l => l.Count == fits && l.All(v => v.State == VmStates.Running), $"{fits} VMs running");
        var use = UseByNode(vms);
        foreach (var node in _nodes)
        {
            var used = use.GetValueOrDefault(node.Address);
            Assert.True(used.Vcpus == node.Capacity.Vcpus && used.MemoryBytes <= node.Capacity.MemoryBytes, $"{node.Address} runs {used} of {node.Capacity}");
        }

        Assert.DoesNotContain(vms, v => v.Name == "one-too-many");
    }

    [Fact]
    public async Task Every_node_converges_on_the_same_registry_and_lists_the_same_vms_on_the_same_nodes()
    {
        StartNodes([new(64 * MiB, 8), new(64 * MiB, 8), new(64 * MiB, 8)]);
        await AllUpAsync(_nodes);
        string[] names = [.. Enumerable.Range(0, 6).Select(i => $"vm{i}")];
        foreach (string name in names)
        {
            Assert.IsType<ClusterFleetProtocol.VmCreated>(await CreateAsync(_nodes[0], Vm(name, VmMegabytes)));
        }

        // Each node's own replica (a local read, no majority asked) ends up with every definition.
        foreach (var node in _nodes)
        {
            var replicator = DistributedData.Get(node.System).Replicator;
            await EventuallyAsync(() => VmRegistry.ReadAsync(replicator, ReadLocal.Instance), r => names.All(r.ContainsKey), $"the registry replica of {node.Address}");
        }

        // Spread by load: two VMs on each node.
        var lists = new List<IReadOnlyList<VmInfo>>();
        foreach (var node in _nodes)
        {
            lists.Add(await EventuallyAsync(() => ListAsync(node), l => l.Count == names.Length && l.All(v => v.State == VmStates.Running), $"list from {node.Address}"));
        }

        foreach (var list in lists.Skip(1))
        {
            Assert.Equal(lists[0].Select(v => (v.Name, v.Node)), list.Select(v => (v.Name, v.Node)));
        }

        Assert.All(_nodes, node => Assert.Equal(2, lists[0].Count(v => v.Node == node.Address)));

        // Stopped through another node: gone from every replica.
        Assert.IsType<VmInfo>(await _nodes[2].AskAsync(new ClusterFleetProtocol.VmCommand("vm0", "stop"), RequestTimeout));
        foreach (var node in _nodes)
        {
            var replicator = DistributedData.Get(node.System).Replicator;
            await EventuallyAsync(() => VmRegistry.ReadAsync(replicator, ReadLocal.Instance), r => !r.ContainsKey("vm0") && r.Count == names.Length - 1, $"vm0 gone from {node.Address}");
        }
    }

    [Fact]
    public async Task A_vm_whose_image_is_missing_on_its_node_is_refused_naming_the_node_and_not_kept()
    {
        StartNodes([new(64 * MiB, 8), new(64 * MiB, 8), new(64 * MiB, 8)]);
        await AllUpAsync(_nodes);
        string image = Path.Combine(_root, "not-here.bin");
        var spec = new ClusterVmSpec("no-image", VmMegabytes * MiB, 1, image, null, null);

        var refused = Assert.IsType<ClusterFleetProtocol.Refused>(await CreateAsync(_nodes[1], spec));

        Assert.Contains($"image '{image}' of VM 'no-image' does not exist on node akka.tcp://{Name}@127.0.0.1:", refused.Reason, StringComparison.Ordinal);
        foreach (var node in _nodes)
        {
            var replicator = DistributedData.Get(node.System).Replicator;
            await EventuallyAsync(() => VmRegistry.ReadAsync(replicator, ReadLocal.Instance), r => !r.ContainsKey("no-image"), $"no-image gone from {node.Address}");
        }

        Assert.Empty(await ListAsync(_nodes[0]));
    }

    private void StartNodes(IReadOnlyList<VmResources> capacities)
    {
        var endpoints = capacities.Select(_ => TestNode.FreeEndpoint()).ToList();
        var seeds = endpoints.Take(2).ToList();
        for (int i = 0; i < capacities.Count; i++)
        {
            _nodes.Add(TestNode.Start(endpoints[i], seeds, capacities[i], _root));
        }
    }
}
