using ActorVmm.Devices.Legacy;
using ActorVmm.Devices.Pci;

namespace ActorVmm.Devices.Platforms;

/// <summary>How the default x86 machine is wired.</summary>
/// <param name="SerialOutputs">
/// Where COM2..COM4 transmit, by device name ("com2"); a name that maps to null, or is missing, transmits into
/// nothing. COM1 is always the VM console (output to its console sink, input from the host).
/// </param>
/// <param name="LegacyPorts">The legacy port map (exit and boot-time probe ports); <see cref="LegacyPortOptions.Default"/> when null.</param>
public sealed record X86PlatformOptions(
    IReadOnlyDictionary<string, Func<IGuestOutput>>? SerialOutputs = null,
    LegacyPortOptions? LegacyPorts = null)
{
    /// <summary>
    /// The devices on the PCI bus besides the host bridge (00:00.0), in the order they get slots and BARs: a device's
    /// own <see cref="PciDeviceDefinition.Slot"/>, else the lowest free device number.
    /// </summary>
    public IReadOnlyList<PciDeviceDefinition> PciDevices { get; init; } = [];

    /// <summary>COM1 on the console, COM2..COM4 attached to nothing, the default legacy map, the host bridge alone on PCI.</summary>
    public static X86PlatformOptions Default { get; } = new();
}
