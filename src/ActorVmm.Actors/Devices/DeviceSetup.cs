using ActorVmm.Devices;

namespace ActorVmm.Actors.Devices;

/// <summary>
/// What a device actor is built from. The supervisor creates one per device and hands the same
/// object to every incarnation of the actor, so that <see cref="Input"/> and <see cref="Backlog"/> (bytes
/// received for the guest but not yet read by it) survive restarts.
/// </summary>
public sealed class DeviceSetup
{
    /// <summary>Creates a setup.</summary>
    public DeviceSetup(DeviceDefinition definition, DeviceEnvironment environment)
    {
        Definition = definition ?? throw new ArgumentNullException(nameof(definition));
        Environment = environment ?? throw new ArgumentNullException(nameof(environment));
    }

    /// <summary>The device's definition.</summary>
    public DeviceDefinition Definition { get; }

    /// <summary>The VM's services.</summary>
    public DeviceEnvironment Environment { get; }

    /// <summary>Input bytes accepted for the device and not yet taken by it (bounded).</summary>
    public GuestInputQueue Input { get; } = new();

    /// <summary>Input received beyond what <see cref="Input"/> holds, waiting for the guest to read.</summary>
    public InputBacklog Backlog { get; } = new();
}
