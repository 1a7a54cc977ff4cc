using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Platforms;

/// <summary>A bare machine: only the devices the VM definition lists (tests, custom machines).</summary>
public sealed class NoPlatform : IPlatform
{
    /// <summary>The shared instance.</summary>
    public static NoPlatform Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "none";

    /// <inheritdoc />
    public MemoryMap Map => MemoryMap.X86;

    /// <inheritdoc />
    public IReadOnlyList<DeviceDefinition> CreateDevices(PlatformContext context) => [];
}
