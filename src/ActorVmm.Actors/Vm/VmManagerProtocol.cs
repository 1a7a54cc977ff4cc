namespace ActorVmm.Actors.Vm;

/// <summary>Messages of the host's VM manager.</summary>
public static class VmManagerProtocol
{
    /// <summary>Creates a VM (and starts it unless <paramref name="Start"/> is false). Answered with <see cref="VmCreated"/> or <see cref="VmRejected"/>.</summary>
    /// <param name="Definition">The VM.</param>
    /// <param name="Start">Start the vCPUs once the devices are in.</param>
    public sealed record CreateVm(VmDefinition Definition, bool Start = true);

    /// <summary>The VM actor exists; its state arrives through <see cref="ListVms"/> and the VM's own status.</summary>
    /// <param name="Name">The VM.</param>
    public sealed record VmCreated(string Name);

    /// <summary>The VM was not created.</summary>
    /// <param name="Name">The VM.</param>
    /// <param name="Reason">Why, in words.</param>
    public sealed record VmRejected(string Name, string Reason);

    /// <summary>Sends a VM command (<see cref="VmProtocol.Start"/>, Pause, Resume, Stop, GetStatus, AwaitExit, SendToDevice) to a VM by name, keeping the sender. Answered by the VM, or with <see cref="VmNotFound"/>.</summary>
    /// <param name="Name">The VM.</param>
    /// <param name="Command">The message for the VM actor.</param>
    public sealed record ToVm(string Name, object Command);

    /// <summary>No VM by that name.</summary>
    /// <param name="Name">The name asked for.</param>
    public sealed record VmNotFound(string Name);

    /// <summary>Stops a VM's actor and forgets it. Answered with <see cref="VmRemoved"/> or <see cref="VmNotFound"/>.</summary>
    /// <param name="Name">The VM.</param>
    public sealed record RemoveVm(string Name);

    /// <summary>The VM is gone.</summary>
    /// <param name="Name">The VM.</param>
    public sealed record VmRemoved(string Name);

    /// <summary>Lists the VMs. Answered with <see cref="VmList"/>.</summary>
    public sealed record ListVms
    {
        /// <summary>The single instance.</summary>
        public static ListVms Instance { get; } = new();
    }

    /// <summary>The VMs, by name.</summary>
    /// <param name="Vms">Each VM's last reported state.</param>
    public sealed record VmList(IReadOnlyList<VmSummary> Vms);

    /// <summary>One VM as the manager last heard of it.</summary>
    /// <param name="Name">The VM.</param>
    /// <param name="State">Its state.</param>
    /// <param name="Exit">How it ended, once stopped.</param>
    public sealed record VmSummary(string Name, VmState State, VmExit? Exit);
}
