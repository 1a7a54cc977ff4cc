namespace ActorVmm.Machine.Boot.Linux;

/// <summary>
/// The kernel command line a Linux guest gets, composed as kvmtool composes it: the platform's entries first, then the
/// user's parameters (so the user's value of the same parameter wins: Linux takes the last one), then the entries of
/// devices that must describe themselves to the kernel (virtio-mmio transports: <c>virtio_mmio.device=</c>), which nothing may override.
/// </summary>
public static class LinuxCommandLine
{
    /// <summary>The serial console on COM1, the platform's console port.</summary>
    public const string SerialConsole = "console=ttyS0";

    /// <summary>Reboot through the i8042 reset line, the reset this platform backs (there is no ACPI reset register).</summary>
    public const string KeyboardReboot = "reboot=k";

    /// <summary>
    /// No ACPI: the platform describes itself with an MP table (docs/linux-boot.md), so the kernel is told not to search
    /// for an RSDP it would not find (and log "ACPI BIOS Error").
    /// </summary>
    public const string NoAcpi = "acpi=off";

    /// <summary>The platform's entries, in order.</summary>
    public static IReadOnlyList<string> PlatformEntries { get; } = [SerialConsole, KeyboardReboot, NoAcpi];

    /// <summary>The whole command line.</summary>
    /// <param name="userParameters">What the user asked for (<c>-p</c>), or null.</param>
    /// <param name="deviceEntries">Entries devices add after the user's.</param>
    public static string Compose(string? userParameters, IEnumerable<string>? deviceEntries = null) =>
        string.Join(' ', PlatformEntries
            .Append(userParameters?.Trim() ?? string.Empty)
            .Concat(deviceEntries ?? [])
            .Where(part => part.Length > 0));
}
