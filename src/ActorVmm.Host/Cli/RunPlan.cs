using ActorVmm.Host.Backends;
using ActorVmm.Machine.Boot;
using Serilog.Events;

namespace ActorVmm.Host.Cli;

/// <summary>Where the guest console goes.</summary>
public enum ConsoleMode
{
    /// <summary>COM1 to the terminal (stdout), the terminal's input to COM1.</summary>
    Serial = 0,

    /// <summary>The console is not shown (still written to --console-log when given).</summary>
    None = 1,
}

/// <summary>A validated <c>actorvmm run</c>: everything checked, the image or kernel read, nothing started yet.</summary>
/// <param name="Name">VM name.</param>
/// <param name="Boot">What the VM boots: a flat binary, or a Linux kernel with initrd and command line.</param>
/// <param name="ImageDescription">"built-in demo guest", the image path or the kernel path, for logs.</param>
/// <param name="MemorySize">Guest RAM in bytes.</param>
/// <param name="Cpus">vCPUs.</param>
/// <param name="Backend">The requested backend (Auto is resolved at start).</param>
/// <param name="Console">Console mode.</param>
/// <param name="Logging">Log settings.</param>
public sealed record RunPlan(
    string Name,
    BootSource Boot,
    string ImageDescription,
    ulong MemorySize,
    int Cpus,
    BackendKind Backend,
    ConsoleMode Console,
    LogSettings Logging)
{
    /// <summary>--reboot: a guest reset restarts the guest instead of ending the VM.</summary>
    public bool Reboot { get; init; }

    /// <summary>Path of a console copy, or null.</summary>
    public string? ConsoleLog { get; init; }

    /// <summary>Log unhandled port accesses.</summary>
    public bool DebugIoport { get; init; }

    /// <summary>Log unhandled MMIO accesses.</summary>
    public bool DebugMmio { get; init; }

    /// <summary>Extra HOCON file, or null.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The text of <see cref="ConfigFile"/> as read and validated, or null.</summary>
    public string? ConfigHocon { get; init; }
}

/// <summary>Validated logging options.</summary>
/// <param name="Level">Minimum level on stderr and in the file.</param>
/// <param name="File">Optional log file.</param>
public sealed record LogSettings(LogEventLevel Level, string? File)
{
    /// <summary>The cluster node's address, put on every event as the <c>node</c> property (actorvmm node), or null.</summary>
    public string? Node { get; init; }
}
