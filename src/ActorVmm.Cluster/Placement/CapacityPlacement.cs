namespace ActorVmm.Cluster.Placement;

/// <summary>
/// The placement rule, shared by the shard allocation strategy (which enforces it) and the fleet
/// gateway (which checks it up front to refuse a VM that cannot fit with a clear message): a VM goes
/// to a node whose declared memory and vCPU capacity still hold it, and among those to the one that
/// is least loaded once it is there (the larger of its memory and vCPU fractions), so VMs spread
/// over the nodes; ties go to the node with fewer VMs, then to the lower address.
/// </summary>
public static class CapacityPlacement
{
    /// <summary>
    /// The node for a VM needing <paramref name="request"/>, or null when none has room. A zero request
    /// (a shard whose VM is gone or has ended) costs nothing and goes to the least loaded node, full or not.
    /// </summary>
    public static PlacementCandidate<TNode>? Choose<TNode>(IEnumerable<PlacementCandidate<TNode>> candidates, VmResources request)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        PlacementCandidate<TNode>? best = null;
        double bestLoad = double.MaxValue;
        foreach (var candidate in candidates)
        {
            if (!request.IsZero && !candidate.Capacity.Fits(candidate.Used, request))
            {
                continue;
            }

            double load = LoadAfter(candidate, request);
            if (best is null || load < bestLoad
                || (load == bestLoad && (candidate.VmCount < best.VmCount
                    || (candidate.VmCount == best.VmCount && string.CompareOrdinal(candidate.Name, best.Name) < 0))))
            {
                best = candidate;
                bestLoad = load;
            }
        }

        return best;
    }

    /// <summary>The node's load with the VM on it: the larger of its memory and vCPU fractions (1 is full).</summary>
    public static double LoadAfter<TNode>(PlacementCandidate<TNode> candidate, VmResources request)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var after = candidate.Used + request;
        double memory = candidate.Capacity.MemoryBytes == 0 ? (after.MemoryBytes == 0 ? 0 : double.PositiveInfinity) : (double)after.MemoryBytes / candidate.Capacity.MemoryBytes;
        double vcpus = candidate.Capacity.Vcpus == 0 ? (after.Vcpus == 0 ? 0 : double.PositiveInfinity) : (double)after.Vcpus / candidate.Capacity.Vcpus;
        return Math.Max(memory, vcpus);
    }

    /// <summary>Why a VM did not fit, naming each node's free capacity.</summary>
    public static string NoRoom<TNode>(string vm, VmResources request, IReadOnlyCollection<PlacementCandidate<TNode>> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0)
        {
            return $"no node can host VM '{vm}': no VM host is up";
        }

        string free = string.Join("; ", candidates.OrderBy(c => c.Name, StringComparer.Ordinal).Select(c => $"{c.Name} has {c.Capacity.FreeAfter(c.Used)} free"));
        return $"no node has room for VM '{vm}' ({request}): {free}";
    }
}
