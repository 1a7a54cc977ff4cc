using ActorVmm.Devices.Framebuffer;
using ActorVmm.Devices.Legacy;

namespace ActorVmm.Devices.Platforms;

/// <summary>How the default x86 machine is wired.</summary>
/// <param name="SerialOutputs">
/// Where COM2..COM4 transmit, by device name ("com2"); a name that maps to null, or is missing, transmits into
/// nothing. COM1 is always the VM console (output to its console sink, input from the host).
/// </param>
/// <param name="LegacyPorts">The legacy port map (exit and boot-time probe ports); <see cref="LegacyPortOptions.Default"/> when null.</param>
/// <param name="Framebuffer">The linear framebuffer's mode (<c>--vesa</c>), or null for a machine without one.</param>
public sealed record X86PlatformOptions(
    IReadOnlyDictionary<string, Func<IGuestOutput>>? SerialOutputs = null,
    LegacyPortOptions? LegacyPorts = null,
    FramebufferMode? Framebuffer = null)
{
    /// <summary>COM1 on the console, COM2..COM4 attached to nothing, the default legacy map.</summary>
    public static X86PlatformOptions Default { get; } = new();
}
