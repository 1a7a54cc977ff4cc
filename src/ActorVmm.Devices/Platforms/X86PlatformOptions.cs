using ActorVmm.Devices.Framebuffer;
using ActorVmm.Devices.Legacy;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Virtio;

namespace ActorVmm.Devices.Platforms;

/// <summary>How the default x86 machine is wired.</summary>
/// <param name="SerialOutputs">
/// Where COM2..COM4 transmit, by device name ("com2"); a name that maps to null, or is missing, transmits into
/// nothing. COM1 is always the VM console (output to its console sink, input from the host).
/// </param>
/// <param name="LegacyPorts">The legacy port map (exit and boot-time probe ports); <see cref="LegacyPortOptions.Default"/> when null.</param>
/// <param name="Virtio">virtio devices, each on its own transport (<see cref="VirtioTransport"/>), in order (null: none).</param>
/// <param name="SerialConsole">Whether COM1 carries the VM console; false when another device (a virtio console) does, and COM1 then transmits into nothing.</param>
/// <param name="Framebuffer">The linear framebuffer's mode (<c>--vesa</c>; a display function on PCI bus 0 after <see cref="PciDevices"/>), or null for a machine without one.</param>
public sealed record X86PlatformOptions(
    IReadOnlyDictionary<string, Func<IGuestOutput>>? SerialOutputs = null,
    LegacyPortOptions? LegacyPorts = null,
    IReadOnlyList<VirtioDeviceSpec>? Virtio = null,
    bool SerialConsole = true,
    FramebufferMode? Framebuffer = null)
{
    /// <summary>The transport of <see cref="Virtio"/> devices: PCI functions on bus 0 (the default, as kvmtool's) or virtio-mmio windows.</summary>
    public VirtioTransportKind VirtioTransport { get; init; } = VirtioTransportKind.Pci;

    /// <summary>
    /// The devices on the PCI bus besides the host bridge (00:00.0), in the order they get slots and BARs: a device's
    /// own <see cref="PciDeviceDefinition.Slot"/>, else the lowest free device number.
    /// </summary>
    public IReadOnlyList<PciDeviceDefinition> PciDevices { get; init; } = [];

    /// <summary>COM1 on the console, COM2..COM4 attached to nothing, the default legacy map, the host bridge alone on PCI.</summary>
    public static X86PlatformOptions Default { get; } = new();
}
