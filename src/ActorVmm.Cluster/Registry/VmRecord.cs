namespace ActorVmm.Cluster.Registry;

/// <summary>A registry entry: the VM's definition, and how it ended once its guest ended by itself (such a VM is not booted again).</summary>
/// <param name="Spec">The definition.</param>
/// <param name="Ended">How the guest ended, in words, or null while it is meant to run.</param>
public sealed record VmRecord(ClusterVmSpec Spec, string? Ended = null);
