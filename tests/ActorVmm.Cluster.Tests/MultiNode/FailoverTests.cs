using System.Diagnostics;
using System.Globalization;
using ActorVmm.Cluster.Entities;
using ActorVmm.Cluster.Gateway;
using ActorVmm.Cluster.Placement;
using ActorVmm.Cluster.Tests.Support;
using Xunit.Abstractions;
using static ActorVmm.Cluster.Tests.Support.TestCluster;

namespace ActorVmm.Cluster.Tests.MultiNode;

/// <summary>A node dies (its actor system stops without leaving): its VMs boot again on the survivors, once each.</summary>
public sealed class FailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int VmCount = 9;
    private const ulong VmMegabytes = 4;
    private const string BootLineStart = "actorvmm: VM ";

    private readonly string _root = Directory.CreateTempSubdirectory("actorvmm-failover-").FullName;
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
    public async Task The_vms_of_a_dead_node_boot_once_each_on_the_survivors_and_a_node_that_joins_later_takes_new_vms()
    {
        var capacity = new VmResources(128 * MiB, 8);
        var endpoints = Enumerable.Range(0, 3).Select(_ => TestNode.FreeEndpoint()).ToList();
        var seeds = endpoints.Take(2).ToList();
        _nodes.AddRange(endpoints.Select(e => TestNode.Start(e, seeds, capacity, _root)));
        await AllUpAsync(_nodes);
        string logs = Directory.CreateDirectory(Path.Combine(_root, "consoles")).FullName;

        for (int i = 0; i < VmCount; i++)
        {
            string name = $"vm{i}";
            Assert.IsType<ClusterFleetProtocol.VmCreated>(await CreateAsync(_nodes[0], Vm(name, VmMegabytes, Path.Combine(logs, name + ".log"))));
        }

        var before = (await ListAsync(_nodes[0])).ToDictionary(v => v.Name, v => v.Node, StringComparer.Ordinal);
        var victim = _nodes[2];
        var orphans = before.Where(v => v.Value == victim.Address).Select(v => v.Key).ToList();
        Assert.Equal(VmCount / 3, orphans.Count);

        var crashedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        await victim.CrashAsync();
        _nodes.Remove(victim);

        var after = await EventuallyAsync(
            () => ListAsync(_nodes[0]),
            l => l.Count == VmCount && l.All(v => v.State == VmStates.Running && v.Node != victim.Address && v.Node != "-"),
            $"all {VmCount} VMs running on the survivors");
        output.WriteLine($"the dead node's {orphans.Count} VMs ran again on the survivors {clock.Elapsed.TotalSeconds:F1} s after it died");

        foreach (var vm in after)
        {
            var boots = BootLines(Path.Combine(logs, vm.Name + ".log"));
            if (orphans.Contains(vm.Name))
            {
                // Booted on the dead node, then once on a survivor, only after the dead node was gone.
                Assert.Equal(2, boots.Count);
                Assert.Equal(victim.Address, boots[0].Node);
                Assert.Equal(vm.Node, boots[1].Node);
                Assert.True(boots[1].At > crashedAt, $"{vm.Name} booted again at {boots[1].At:O}, before its node died at {crashedAt:O}");
            }
            else
            {
                // Untouched: booted once, where it still runs.
                Assert.Equal(before[vm.Name], vm.Node);
                Assert.Equal(vm.Node, Assert.Single(boots).Node);
            }
        }

        // A node that joins afterwards is the least loaded: the next VM goes there.
        var newcomer = TestNode.Start(TestNode.FreeEndpoint(), seeds, capacity, _root);
        _nodes.Add(newcomer);
        await AllUpAsync(_nodes);
        var created = Assert.IsType<ClusterFleetProtocol.VmCreated>(await CreateAsync(_nodes[1], Vm("late", VmMegabytes)));
        Assert.Equal(newcomer.Address, created.Vm.Node);
    }

    /// <summary>The "actorvmm: VM NAME boots on node ADDRESS at TIME" lines the node that boots a VM writes first to its console log.</summary>
    private static List<(string Node, DateTimeOffset At)> BootLines(string log) =>
        [.. File.ReadAllLines(log).Where(l => l.StartsWith(BootLineStart, StringComparison.Ordinal)).Select(line =>
        {
            string[] words = line.Split(' ');
            int on = Array.IndexOf(words, "node");
            int at = Array.IndexOf(words, "at");
            return (words[on + 1], DateTimeOffset.Parse(words[at + 1], CultureInfo.InvariantCulture));
        })];
}
