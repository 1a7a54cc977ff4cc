using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Devices.Framebuffer;
using ActorVmm.Host.Backends;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Passthrough;
using Serilog.Events;

namespace ActorVmm.Host.Cli;

/// <summary>Where the guest console goes.</summary>
public enum ConsoleMode
{
    /// <summary>COM1 to the terminal (stdout), the terminal's input to COM1.</summary>
    Serial = 0,

    /// <summary>The console is not shown (still written to --console-log when given).</summary>
    None = 1,

    /// <summary>A virtio console (hvc0) on the terminal and its input; COM1 transmits into nothing.</summary>
    Virtio = 2,
}

/// <summary>One --disk: a raw image and whether the guest may only read it.</summary>
/// <param name="Path">The image file.</param>
/// <param name="ReadOnly">True for <c>,ro</c>: opened read-only with a shared lock, writes fail in the guest.</param>
public sealed record DiskSpec(string Path, bool ReadOnly);

/// <summary>One -n/--network: a virtio-net card on a host tap.</summary>
/// <param name="TapName">The tap interface (tapif=), attached (or created) when the VM starts.</param>
/// <param name="GuestMac">The card's MAC address (guest_mac=, or a default per card).</param>
public sealed record NetworkSpec(string TapName, MacAddress GuestMac);

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

    /// <summary>The --disk images, in order.</summary>
    public IReadOnlyList<DiskSpec> Disks { get; init; } = [];

    /// <summary>Whether a virtio-rng device is added.</summary>
    public bool Rng { get; init; }

    /// <summary>The -n/--network cards, in order.</summary>
    public IReadOnlyList<NetworkSpec> Networks { get; init; } = [];

    /// <summary>Path of the --virtio-console-log file, or null.</summary>
    public string? VirtioConsoleLog { get; init; }

    /// <summary>The transport of the virtio devices.</summary>
    public VirtioTransportKind VirtioTransport { get; init; } = VirtioTransportKind.Pci;

    /// <summary>How many virtio devices the plan asks for.</summary>
    public int VirtioDeviceCount => Disks.Count + (Rng ? 1 : 0) + Networks.Count + (VirtioConsoleLog is null ? 0 : 1) + (Console == ConsoleMode.Virtio ? 1 : 0);

    /// <summary>The framebuffer's mode (--vesa), or null for none.</summary>
    public FramebufferMode? Framebuffer { get; init; }

    /// <summary>Where the final frame is written as PNG (--screenshot-on-exit), or null.</summary>
    public string? ScreenshotOnExit { get; init; }

    /// <summary>Extra HOCON file, or null.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The text of <see cref="ConfigFile"/> as read and validated, or null.</summary>
    public string? ConfigHocon { get; init; }

    /// <summary>Host PCI devices to pass through with VFIO (KVM only), in command-line order.</summary>
    public IReadOnlyList<VfioPciAddress> VfioPci { get; init; } = [];

    /// <summary>--experimental-emulator-linux: a Linux boot may run on the emulator backend (development only).</summary>
    public bool ExperimentalEmulatorLinux { get; init; }
}

/// <summary>Validated logging options.</summary>
/// <param name="Level">Minimum level on stderr and in the file.</param>
/// <param name="File">Optional log file.</param>
public sealed record LogSettings(LogEventLevel Level, string? File)
{
    /// <summary>The cluster node's address, put on every event as the <c>node</c> property (actorvmm node), or null.</summary>
    public string? Node { get; init; }
}
