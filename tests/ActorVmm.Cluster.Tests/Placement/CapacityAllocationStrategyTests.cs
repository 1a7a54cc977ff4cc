using System.Collections.Immutable;
using ActorVmm.Cluster.Placement;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using FsCheck;
using FsCheck.Xunit;

namespace ActorVmm.Cluster.Tests.Placement;

public sealed class CapacityAllocationStrategyTests : TestKit
{
    private const ulong MiB = 1024 * 1024;
    private const int MaxNodes = 5;
    private const int MaxVms = 40;

    private readonly IActorRef[] _regions;

    public CapacityAllocationStrategyTests()
        : base("akka.loglevel = WARNING")
    {
        _regions = [.. Enumerable.Range(0, MaxNodes).Select(_ => CreateTestProbe().Ref)];
    }

    /// <summary>
    /// Random nodes and VM sizes: every VM is placed on a node that still holds it, or refused only when
    /// no node does; then one node dies and each of its VMs is placed again the same way (as the coordinator
    /// does with remembered shards), while no VM on a surviving node moves (Rebalance never moves one).
    /// </summary>
    [Property(MaxTest = 150)]
    public void No_node_is_ever_over_capacity_and_no_vm_is_lost_when_a_node_dies(NonEmptyArray<byte> nodeSeeds, byte[] vmSeeds, byte deadSeed)
    {
        var nodes = new FakeNodes();
        var resources = new FakeResources();
        var strategy = new CapacityAllocationStrategy(resources, nodes, TimeProvider.System);
        var allocations = new Dictionary<IActorRef, List<string>>();
        foreach (var (seed, index) in nodeSeeds.Get.Take(MaxNodes).Select((s, i) => (s, i)))
        {
            var region = _regions[index];
            nodes.Nodes[region] = new NodeView($"node-{index}", new VmResources((ulong)(1 + (seed % 8)) * 8 * MiB, 1 + ((seed / 8) % 8)));
            allocations[region] = [];
        }

        var vms = (vmSeeds ?? []).Take(MaxVms).Select((seed, i) => ($"vm{i:D2}", new VmResources((ulong)(1 + (seed % 4)) * 4 * MiB, 1 + ((seed / 4) % 2)))).ToList();
        foreach (var (name, size) in vms)
        {
            resources.Sizes[name] = size;
        }

        var refused = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in vms)
        {
            Allocate(strategy, nodes, resources, allocations, name, refused);
        }

        Assert.Empty(strategy.Rebalance(Snapshot(allocations), ImmutableHashSet<string>.Empty).Result);
        Assert.Equal(vms.Count, allocations.Values.Sum(s => s.Count) + refused.Count);

        // One node dies: its region leaves the map and the membership; its VMs are allocated again.
        var dead = allocations.Keys.ElementAt(deadSeed % allocations.Count);
        var orphans = allocations[dead];
        var survivorsBefore = allocations.Where(a => !a.Key.Equals(dead)).ToDictionary(a => a.Key, a => a.Value.ToList());
        allocations.Remove(dead);
        nodes.Nodes.Remove(dead);
        foreach (string name in orphans)
        {
            Allocate(strategy, nodes, resources, allocations, name, refused);
        }

        foreach (var (region, before) in survivorsBefore)
        {
            Assert.Equal(before, allocations[region].Take(before.Count));
        }

        Assert.Empty(strategy.Rebalance(Snapshot(allocations), ImmutableHashSet<string>.Empty).Result);
        Assert.Equal(vms.Count, allocations.Values.Sum(s => s.Count) + refused.Count);
    }

    [Fact]
    public async Task Two_allocations_asked_before_the_map_shows_the_first_do_not_both_take_the_last_room()
    {
        var nodes = new FakeNodes();
        var resources = new FakeResources();
        nodes.Nodes[_regions[0]] = new NodeView("node-0", new VmResources(8 * MiB, 1));
        resources.Sizes["a"] = new VmResources(8 * MiB, 1);
        resources.Sizes["b"] = new VmResources(8 * MiB, 1);
        var strategy = new CapacityAllocationStrategy(resources, nodes, TimeProvider.System);
        var empty = Snapshot(new Dictionary<IActorRef, List<string>> { [_regions[0]] = [] });

        var first = strategy.AllocateShard(_regions[0], "a", empty);
        var second = strategy.AllocateShard(_regions[0], "b", empty);

        Assert.Equal(_regions[0], await first);
        await Assert.ThrowsAsync<NoCapacityException>(() => second);
    }

    [Fact]
    public async Task A_node_that_may_not_take_vms_is_never_chosen()
    {
        var nodes = new FakeNodes();
        var resources = new FakeResources();
        nodes.Nodes[_regions[1]] = new NodeView("node-1", new VmResources(8 * MiB, 1));
        resources.Sizes["a"] = new VmResources(4 * MiB, 1);
        var strategy = new CapacityAllocationStrategy(resources, nodes, TimeProvider.System);

        // _regions[0] has no capacity roles, or is not up: it is in the map but not a candidate, however empty.
        var map = Snapshot(new Dictionary<IActorRef, List<string>> { [_regions[0]] = [], [_regions[1]] = ["x", "y"] });

        Assert.Equal(_regions[1], await strategy.AllocateShard(_regions[0], "a", map));
    }

    private void Allocate(CapacityAllocationStrategy strategy, FakeNodes nodes, FakeResources resources, Dictionary<IActorRef, List<string>> allocations, string name, HashSet<string> refused)
    {
        var request = resources.Sizes[name];
        var task = strategy.AllocateShard(_regions[0], name, Snapshot(allocations));
        try
        {
            var region = task.GetAwaiter().GetResult();
            Assert.True(allocations.ContainsKey(region), $"{name} went to a region that is not in the map");
            allocations[region].Add(name);
            var used = Used(allocations[region], resources);
            Assert.True(used.MemoryBytes <= nodes.Nodes[region].Capacity.MemoryBytes && used.Vcpus <= nodes.Nodes[region].Capacity.Vcpus,
                $"{nodes.Nodes[region].Name} is over capacity: {used} of {nodes.Nodes[region].Capacity}");
        }
        catch (NoCapacityException)
        {
            // Refused: then truly no node had room for it.
            foreach (var (region, shards) in allocations)
            {
                Assert.False(nodes.Nodes[region].Capacity.Fits(Used(shards, resources), request), $"{name} was refused but {nodes.Nodes[region].Name} had room");
            }

            refused.Add(name);
        }
    }

    private static VmResources Used(IEnumerable<string> shards, FakeResources resources) =>
        shards.Aggregate(VmResources.Zero, (sum, shard) => sum + resources.Sizes[shard]);

    private static IImmutableDictionary<IActorRef, IImmutableList<string>> Snapshot(Dictionary<IActorRef, List<string>> allocations) =>
        allocations.ToImmutableDictionary(a => a.Key, a => (IImmutableList<string>)a.Value.ToImmutableList());
}
