using ActorVmm.Devices.ExitPort;

namespace ActorVmm.Devices.Legacy;

/// <summary>Configurable legacy ports.</summary>
/// <param name="ExitPort">
/// The port left unclaimed for the exit port device (<see cref="ExitPort.ExitPortDevice"/>), or null when the VM
/// has none: the FPU range 0xF0–0xFF is split around it.
/// </param>
/// <param name="BootTimePort">
/// The boot-time probe port, or null for none. Default 0x440: free on PCs, not decoded by Linux or firmware
/// (QEMU's fw_cfg is at 0x510, pvpanic at 0x505, debugcon at 0xE9/0x402, ELCR at 0x4D0), and below kvmtool's
/// PCI I/O window at 0x6200. Firecracker puts its boot timer on MMIO instead.
/// </param>
public sealed record LegacyPortOptions(ushort? ExitPort = LegacyPortOptions.DefaultExitPort, ushort? BootTimePort = LegacyPortOptions.DefaultBootTimePort)
{
    /// <summary>The exit port of guest-conventions.md (the port QEMU's isa-debug-exit uses).</summary>
    public const ushort DefaultExitPort = ExitPortDevice.Port;

    /// <summary>The default boot-time probe port.</summary>
    public const ushort DefaultBootTimePort = 0x440;

    /// <summary>The default map: exit port 0xF4, boot-time probe at 0x440.</summary>
    public static LegacyPortOptions Default { get; } = new();
}
