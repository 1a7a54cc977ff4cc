using ActorVmm.Actors.Supervision;
using ActorVmm.Devices;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Actors.Vm;

/// <summary>Messages of a VM actor.</summary>
public static class VmProtocol
{
    /// <summary>Starts the vCPUs (once the devices are in). Answered with <see cref="CommandAccepted"/> or <see cref="CommandRejected"/>.</summary>
    public sealed record Start
    {
        /// <summary>The single instance.</summary>
        public static Start Instance { get; } = new();
    }

    /// <summary>Pauses every vCPU. Answered with <see cref="CommandAccepted"/> or <see cref="CommandRejected"/>.</summary>
    public sealed record Pause
    {
        /// <summary>The single instance.</summary>
        public static Pause Instance { get; } = new();
    }

    /// <summary>Resumes paused vCPUs. Answered with <see cref="CommandAccepted"/> or <see cref="CommandRejected"/>.</summary>
    public sealed record Resume
    {
        /// <summary>The single instance.</summary>
        public static Resume Instance { get; } = new();
    }

    /// <summary>Stops the VM (host stop, exit status 0). Answered with <see cref="CommandAccepted"/>; <see cref="AwaitExit"/> tells when it is done.</summary>
    public sealed record Stop
    {
        /// <summary>The single instance.</summary>
        public static Stop Instance { get; } = new();
    }

    /// <summary>The command was applied; the VM is now in <paramref name="State"/>.</summary>
    /// <param name="Name">The VM.</param>
    /// <param name="State">Its state.</param>
    public sealed record CommandAccepted(string Name, VmState State);

    /// <summary>The command does not apply in the current state, or the VM cannot start.</summary>
    /// <param name="Name">The VM.</param>
    /// <param name="State">Its state.</param>
    /// <param name="Reason">Why, in words.</param>
    public sealed record CommandRejected(string Name, VmState State, string Reason);

    /// <summary>Asks for the VM's status. Answered with <see cref="VmStatus"/>.</summary>
    public sealed record GetStatus
    {
        /// <summary>The single instance.</summary>
        public static GetStatus Instance { get; } = new();
    }

    /// <summary>A VM's status.</summary>
    /// <param name="Name">The VM.</param>
    /// <param name="Backend">"kvm" or "emulator".</param>
    /// <param name="State">Lifecycle state.</param>
    /// <param name="Vcpus">Each vCPU's run state, index = id.</param>
    /// <param name="Devices">Devices with state, restarts and region counters.</param>
    /// <param name="UnhandledPio">Port accesses no region claimed.</param>
    /// <param name="UnhandledMmio">MMIO accesses no region claimed.</param>
    /// <param name="Reboots">Guest-requested reboots so far.</param>
    /// <param name="Exit">How it ended, once stopped.</param>
    public sealed record VmStatus(
        string Name,
        string Backend,
        VmState State,
        IReadOnlyList<VcpuRunState> Vcpus,
        SupervisorProtocol.DeviceReport Devices,
        long UnhandledPio,
        long UnhandledMmio,
        int Reboots,
        VmExit? Exit);

    /// <summary>Asks to be told when the VM has stopped. Answered with <see cref="Exited"/> (at once if it already has).</summary>
    public sealed record AwaitExit
    {
        /// <summary>The single instance.</summary>
        public static AwaitExit Instance { get; } = new();
    }

    /// <summary>The VM stopped; its console output is flushed.</summary>
    /// <param name="Name">The VM.</param>
    /// <param name="Exit">How it ended.</param>
    public sealed record Exited(string Name, VmExit Exit);

    /// <summary>Told to the VM's parent on every state change.</summary>
    /// <param name="Name">The VM.</param>
    /// <param name="State">The new state.</param>
    /// <param name="Exit">How it ended, once stopped.</param>
    public sealed record StateChanged(string Name, VmState State, VmExit? Exit);

    /// <summary>A device asked for an exit or a reset (exit port, i8042, port 0x92).</summary>
    /// <param name="Generation">The boot generation of the asking device (stale requests from before a reboot are ignored).</param>
    /// <param name="Kind">Exit or reset.</param>
    /// <param name="Status">Exit status for <see cref="PowerRequestKind.Exit"/>.</param>
    /// <param name="Source">The guest action behind it.</param>
    public sealed record GuestPowerRequest(int Generation, PowerRequestKind Kind, int Status, PowerRequestSource Source);

    /// <summary>A vCPU thread ended.</summary>
    internal sealed record VcpuEnded(int Generation, int VcpuId, VcpuExit Exit);

    /// <summary>Every vCPU thread of a generation has been stopped.</summary>
    internal sealed record VcpusStopped(int Generation);

    /// <summary>Every vCPU of a generation acknowledged a pause.</summary>
    internal sealed record VcpusPaused(int Generation);

    /// <summary>The device supervisor's report just before it stops (null when it did not answer).</summary>
    internal sealed record FinalDeviceReport(int Generation, SupervisorProtocol.DeviceReport? Report);

    /// <summary>The console sink did not answer the final flush in time.</summary>
    internal sealed record FlushTimedOut
    {
        public static FlushTimedOut Instance { get; } = new();
    }
}

/// <summary>What a device asks of the VM.</summary>
public enum PowerRequestKind
{
    /// <summary>Stop with an exit status.</summary>
    Exit = 0,

    /// <summary>Reset (reboot or stop, as configured).</summary>
    Reset = 1,
}
