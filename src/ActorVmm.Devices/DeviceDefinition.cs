using ActorVmm.Devices.DeviceTree;

namespace ActorVmm.Devices;

/// <summary>
/// Everything the supervisor needs to create a device and to recreate it after a failure: a name and a
/// factory that builds a FRESH instance every time it is called (device reset semantics).
/// </summary>
/// <param name="Name">Unique device name in the VM ("com1", "rtc"); also the device actor's name.</param>
/// <param name="Factory">Builds a new, power-on-state instance; called once per (re)start on the device actor.</param>
public sealed record DeviceDefinition(string Name, Func<DeviceContext, IDevice> Factory)
{
    /// <summary>Longest device name accepted (it names actors, regions and log lines).</summary>
    public const int MaxNameLength = 64;

    /// <summary>How the device appears in the machine's device tree, on machines that have one (arm64); null for none.</summary>
    public IDescribesDeviceTree? DeviceTree { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> when the name cannot name a device.</summary>
    public void Validate()
    {
        if (!IsValidName(Name))
        {
            throw new ArgumentException($"'{Name}' is not a valid device name (use 1 to {MaxNameLength} letters, digits, '-' or '_', starting with a letter or digit)");
        }

        ArgumentNullException.ThrowIfNull(Factory);
    }

    /// <summary>True for 1..<see cref="MaxNameLength"/> ASCII letters, digits, '-' and '_', not starting with a symbol.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength }
        && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
