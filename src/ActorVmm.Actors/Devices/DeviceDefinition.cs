using Akka.Actor;

namespace ActorVmm.Actors.Devices;

/// <summary>
/// Everything the supervisor needs to create a device and to recreate it after a failure: a name,
/// a factory that builds a FRESH instance every time it is called (device reset semantics), and
/// optionally the Props of a device-specific actor that does the device's slow-path work.
/// </summary>
/// <param name="Name">Unique device name in the VM ("com1", "rtc"); also the device actor's name.</param>
/// <param name="Factory">Builds a new, power-on-state instance; called once per (re)start on the device actor.</param>
/// <param name="ActorProps">
/// Props of the device's actor given its setup (a subclass of <see cref="DeviceActor"/>); null for devices
/// without slow-path work, which get a plain <see cref="DeviceActor"/>.
/// </param>
public sealed record DeviceDefinition(string Name, Func<DeviceContext, IDevice> Factory, Func<DeviceSetup, Props>? ActorProps = null)
{
    /// <summary>Throws <see cref="ArgumentException"/> when the name cannot name a device actor.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || !ActorPath.IsValidPathElement(Name))
        {
            throw new ArgumentException($"'{Name}' is not a valid device name (use letters, digits and '-', not starting with '$')");
        }

        ArgumentNullException.ThrowIfNull(Factory);
    }
}
