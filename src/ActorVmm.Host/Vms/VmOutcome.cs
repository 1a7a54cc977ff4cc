namespace ActorVmm.Host.Vms;

/// <summary>How a VM ended.</summary>
public enum VmOutcomeKind
{
    /// <summary>The guest wrote its exit status to the exit port.</summary>
    ExitPort = 0,

    /// <summary>Stopped by the host (stop command, Ctrl-C, end of a fleet run).</summary>
    Stopped = 1,

    /// <summary>The guest asked for a reset (or triple-faulted) and the VM stops on reset (no --reboot), so it ends.</summary>
    Reset = 2,

    /// <summary>The guest shut down without an exit status (every vCPU halted with interrupts off).</summary>
    Shutdown = 3,

    /// <summary>The backend could not go on (undefined instruction, fetch outside RAM, KVM error).</summary>
    InternalError = 4,
}

/// <summary>How a VM ended, with the guest's exit status and a message for people.</summary>
/// <param name="Kind">The kind of ending.</param>
/// <param name="ExitStatus">The exit-port status (only meaningful for <see cref="VmOutcomeKind.ExitPort"/>).</param>
/// <param name="Message">What happened, for the one line printed when the VM died.</param>
public sealed record VmOutcome(VmOutcomeKind Kind, int ExitStatus = 0, string? Message = null)
{
    /// <summary>True when the VM died rather than ended (halted for good, internal error).</summary>
    public bool IsFailure => Kind is VmOutcomeKind.Shutdown or VmOutcomeKind.InternalError;

    /// <summary>The VM stopped by the host.</summary>
    public static VmOutcome Stopped { get; } = new(VmOutcomeKind.Stopped);
}

/// <summary>A VM could not be created or started; the message is for the user.</summary>
public sealed class VmLaunchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public VmLaunchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public VmLaunchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
