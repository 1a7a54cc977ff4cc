namespace ActorVmm.Devices.Platforms;

/// <summary>A bare machine: only the devices the VM definition lists (tests, custom machines).</summary>
public sealed class NoPlatform : IPlatform
{
    /// <summary>The shared instance.</summary>
    public static NoPlatform Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "none";

    /// <inheritdoc />
    public IReadOnlyList<DeviceDefinition> CreateDevices(PlatformContext context) => [];
}
