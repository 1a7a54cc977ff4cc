namespace ActorVmm.Host.Cli;

/// <summary>The process exit codes actorvmm uses besides the guest's own exit status.</summary>
public static class ExitCodes
{
    /// <summary>Clean shutdown (also a guest that wrote 0 to the exit port).</summary>
    public const int Success = 0;

    /// <summary>Bad input: nothing was started (the same code System.CommandLine tools and kvmtool use for usage errors).</summary>
    public const int Usage = 2;

    /// <summary>The VM died: every vCPU halted for good, internal emulation error, backend failure (sysexits EX_SOFTWARE).</summary>
    public const int VmDied = 70;

    /// <summary>A control command could not reach a host or the host refused it (sysexits EX_UNAVAILABLE).</summary>
    public const int Unavailable = 69;

    /// <summary>Stopped by SIGINT (Ctrl-C): 128 + signal 2, as shells report it.</summary>
    public const int Interrupted = 130;
}
