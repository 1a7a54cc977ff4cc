using ActorVmm.Actors.Vm;
using ActorVmm.Cluster.Gateway;

namespace ActorVmm.Cluster.Entities;

/// <summary>A cluster VM's states as listings show them, and how a VM actor's state and status map to them.</summary>
public static class VmStates
{
    /// <summary>Being created on its node.</summary>
    public const string Starting = "starting";

    /// <summary>Running guest code (or halted waiting for an interrupt).</summary>
    public const string Running = "running";

    /// <summary>Paused by the host.</summary>
    public const string Paused = "paused";

    /// <summary>Ended cleanly (exit port, stop).</summary>
    public const string Stopped = "stopped";

    /// <summary>Ended by a fault, or could not start on its node.</summary>
    public const string Failed = "failed";

    /// <summary>Defined, but not placed on a node (no node has room, or its node has just died).</summary>
    public const string Pending = "pending";

    /// <summary>The listing state of a VM actor's state.</summary>
    public static string Of(VmState state, VmExit? exit) => state switch
    {
        VmState.Created => Starting,
        VmState.Running => Running,
        VmState.Paused => Paused,
        _ => exit is { Reason: VmExitReason.InternalError or VmExitReason.Failed or VmExitReason.Shutdown } ? Failed : Stopped,
    };

    /// <summary>How a VM ended, in words.</summary>
    public static string Describe(VmExit exit)
    {
        ArgumentNullException.ThrowIfNull(exit);
        string what = exit.Reason switch
        {
            VmExitReason.ExitPort => $"guest exit status {exit.ExitCode}",
            VmExitReason.HostStop => "stopped by the host",
            VmExitReason.Reset => "guest reset",
            VmExitReason.Shutdown => "guest shut down (triple fault?)",
            VmExitReason.InternalError => "backend error",
            _ => "the VM actor failed",
        };
        return exit.Message is { } message && exit.Reason is not VmExitReason.HostStop ? $"{what}: {message}" : what;
    }

    /// <summary>A VM's listing from its actor's status; node, size and message from <paramref name="snapshot"/>.</summary>
    public static VmInfo Info(VmProtocol.VmStatus status, VmInfo snapshot)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(snapshot);
        long exits = status.UnhandledPio + status.UnhandledMmio + status.Devices.Devices.SelectMany(d => d.Regions).Sum(r => r.Counters.Total);
        return snapshot with
        {
            State = Of(status.State, status.Exit),
            Backend = status.Backend,
            Exits = exits,
            Restarts = (int)status.Devices.Restarts + status.Reboots,
            Message = status.Exit is { } exit ? Describe(exit) : snapshot.Message,
        };
    }
}
