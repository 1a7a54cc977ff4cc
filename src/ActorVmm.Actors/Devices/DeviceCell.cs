using ActorVmm.Devices;

namespace ActorVmm.Actors.Devices;

/// <summary>
/// What survives every incarnation of one device: its definition and environment, the host input waiting for the
/// guest, the capabilities over its regions, and the current instance. The supervisor builds instances into it (the
/// first one, and every rebuild after a failure); the device's actor reads <see cref="Current"/> to do the slow path.
/// </summary>
public sealed class DeviceCell
{
    private IDevice? _current;
    private int _generation;

    /// <summary>Creates the cell of a device that has no instance yet.</summary>
    public DeviceCell(DeviceDefinition definition, DeviceEnvironment environment)
    {
        Definition = definition ?? throw new ArgumentNullException(nameof(definition));
        Environment = environment ?? throw new ArgumentNullException(nameof(environment));
    }

    /// <summary>The device's definition.</summary>
    public DeviceDefinition Definition { get; }

    /// <summary>The device's name.</summary>
    public string Name => Definition.Name;

    /// <summary>The VM's services.</summary>
    public DeviceEnvironment Environment { get; }

    /// <summary>Input bytes accepted for the device and not yet taken by it (bounded).</summary>
    public GuestInputQueue Input { get; } = new();

    /// <summary>Input received beyond what <see cref="Input"/> holds, waiting for the guest to read.</summary>
    public InputBacklog Backlog { get; } = new();

    /// <summary>The capabilities over the device's regions, granted once they are registered.</summary>
    public DeviceRegionControls Regions { get; } = new();

    /// <summary>The current instance, or null before the first one is built.</summary>
    public IDevice? Current => Volatile.Read(ref _current);

    /// <summary>Counts the instances built so far: 1 for the first, one more per rebuild.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>
    /// Builds an instance from the definition's factory, rebuilt from <paramref name="state"/> (null: power-on), with
    /// <paramref name="mailbox"/> as its way to its slow path. It does not become <see cref="Current"/> until
    /// <see cref="Install"/>.
    /// </summary>
    public IDevice Build(IDeviceMailbox mailbox, DeviceState? state) =>
        Definition.Factory(new DeviceContext(Name, Environment, mailbox, Input, state, Regions))
        ?? throw new InvalidOperationException($"The factory of device '{Name}' returned no instance");

    /// <summary>Makes <paramref name="device"/> the current instance and returns its generation.</summary>
    public int Install(IDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Volatile.Write(ref _current, device);
        return Interlocked.Increment(ref _generation);
    }
}
