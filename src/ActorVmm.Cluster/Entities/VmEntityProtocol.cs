namespace ActorVmm.Cluster.Entities;

/// <summary>Messages of a VM entity (<see cref="VmEntity"/>), sent through the shard region in a ShardingEnvelope keyed by the VM's name.</summary>
public static class VmEntityProtocol
{
    /// <summary>Boots the VM if it is not running yet. Answered with the VM's VmInfo once it runs, or with a Refused naming the node and why.</summary>
    public sealed record Boot
    {
        /// <summary>The single instance.</summary>
        public static Boot Instance { get; } = new();
    }

    /// <summary>Asks for the VM's state and counters. Answered with VmInfo.</summary>
    public sealed record GetInfo
    {
        /// <summary>The single instance.</summary>
        public static GetInfo Instance { get; } = new();
    }

    /// <summary>Pauses the VM. Answered with VmInfo or Refused.</summary>
    public sealed record Pause
    {
        /// <summary>The single instance.</summary>
        public static Pause Instance { get; } = new();
    }

    /// <summary>Resumes the VM. Answered with VmInfo or Refused.</summary>
    public sealed record Resume
    {
        /// <summary>The single instance.</summary>
        public static Resume Instance { get; } = new();
    }

    /// <summary>Stops the VM and removes it from the cluster (registry and remembered entities). Answered with its last VmInfo or Refused.</summary>
    public sealed record Remove
    {
        /// <summary>The single instance.</summary>
        public static Remove Instance { get; } = new();
    }

    /// <summary>
    /// Sharding's stop message (hand-off when the node leaves, and the end of a passivation): the VM
    /// is stopped cleanly on this node; a VM that is still remembered boots again on its new node.
    /// </summary>
    public sealed record HandOff
    {
        /// <summary>The single instance.</summary>
        public static HandOff Instance { get; } = new();
    }
}
