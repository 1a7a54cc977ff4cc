using System.Runtime.InteropServices;

namespace ActorVmm.Host.Cli;

/// <summary>The process exit codes actorvmm uses besides the guest's own exit status (docs/control-protocol.md lists them).</summary>
public static class ExitCodes
{
    /// <summary>Clean shutdown (also a guest that wrote 0 to the exit port).</summary>
    public const int Success = 0;

    /// <summary>Bad input: nothing was started (the same code System.CommandLine tools and kvmtool use for usage errors).</summary>
    public const int Usage = 2;

    /// <summary>The VM died or could not be created: every vCPU halted for good, internal emulation error, backend failure (sysexits EX_SOFTWARE).</summary>
    public const int VmDied = 70;

    /// <summary>A control command could not reach a host or the host refused it, or the host could not start (sysexits EX_UNAVAILABLE).</summary>
    public const int Unavailable = 69;

    /// <summary>A command ended by a signal exits with this plus the signal's number, as shells report a process killed by it.</summary>
    public const int SignalBase = 128;

    /// <summary>Stopped by SIGHUP (the terminal went away): 128 + 1.</summary>
    public const int HungUp = SignalBase + 1;

    /// <summary>Stopped by SIGINT (Ctrl-C): 128 + 2.</summary>
    public const int Interrupted = SignalBase + 2;

    /// <summary>Stopped by SIGTERM: 128 + 15.</summary>
    public const int Terminated = SignalBase + 15;

    /// <summary>The exit code of a command stopped by <paramref name="signal"/>.</summary>
    public static int ForSignal(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => HungUp,
        PosixSignal.SIGINT => Interrupted,
        PosixSignal.SIGTERM => Terminated,
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "actorvmm stops on SIGHUP, SIGINT and SIGTERM only"),
    };

    /// <summary>stdout could not be written for another reason than a closed reader (sysexits EX_IOERR).</summary>
    public const int IoError = 74;

    /// <summary>stdout's reader went away (EPIPE): 128 + SIGPIPE (13), what a shell reports for a Unix tool it ended.</summary>
    public const int BrokenPipe = SignalBase + 13;
}
