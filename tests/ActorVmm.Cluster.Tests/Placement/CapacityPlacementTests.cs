using ActorVmm.Cluster.Placement;

namespace ActorVmm.Cluster.Tests.Placement;

public sealed class CapacityPlacementTests
{
    private const ulong MiB = 1024 * 1024;

    private static readonly VmResources Small = new(4 * MiB, 1);

    [Fact]
    public void A_vm_goes_to_the_node_that_is_least_loaded_once_it_is_there()
    {
        var busy = new PlacementCandidate<string>("a", "a", new VmResources(16 * MiB, 4), new VmResources(8 * MiB, 2), 2);
        var idle = new PlacementCandidate<string>("b", "b", new VmResources(16 * MiB, 4), VmResources.Zero, 0);

        Assert.Equal("b", CapacityPlacement.Choose([busy, idle], Small)?.Node);
    }

    [Fact]
    public void Load_is_the_larger_of_the_memory_and_vcpu_fractions()
    {
        // a: memory nearly full, vCPUs free; b: the reverse but less so. b is less loaded.
        var a = new PlacementCandidate<string>("a", "a", new VmResources(16 * MiB, 16), new VmResources(12 * MiB, 0), 1);
        var b = new PlacementCandidate<string>("b", "b", new VmResources(16 * MiB, 4), new VmResources(0, 2), 1);

        Assert.Equal("b", CapacityPlacement.Choose([a, b], Small)?.Node);
    }

    [Fact]
    public void A_vm_that_fits_nowhere_is_not_placed_and_the_reason_names_each_nodes_free_capacity()
    {
        var full = new PlacementCandidate<string>("a", "node-a", new VmResources(8 * MiB, 2), new VmResources(8 * MiB, 1), 2);
        var noCpus = new PlacementCandidate<string>("b", "node-b", new VmResources(64 * MiB, 1), new VmResources(4 * MiB, 1), 1);

        Assert.Null(CapacityPlacement.Choose([full, noCpus], Small));
        string reason = CapacityPlacement.NoRoom("vm1", Small, [full, noCpus]);
        Assert.Contains("node-a has 0 B and 1 vCPU free", reason, StringComparison.Ordinal);
        Assert.Contains("node-b has 60 MiB and 0 vCPUs free", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Ties_go_to_the_node_with_fewer_vms_then_to_the_lower_address()
    {
        var b = new PlacementCandidate<string>("b", "b", new VmResources(16 * MiB, 4), VmResources.Zero, 0);
        var a = new PlacementCandidate<string>("a", "a", new VmResources(16 * MiB, 4), VmResources.Zero, 0);

        Assert.Equal("a", CapacityPlacement.Choose([b, a], Small)?.Node);
    }

    [Fact]
    public void A_capacity_is_never_exceeded_by_a_request_that_would_overflow()
    {
        var capacity = new VmResources(ulong.MaxValue - 1, int.MaxValue);
        var used = new VmResources(ulong.MaxValue - 2, int.MaxValue - 1);

        Assert.False(capacity.Fits(used, new VmResources(2, 1)));
        Assert.True(capacity.Fits(used, new VmResources(1, 1)));
    }
}
