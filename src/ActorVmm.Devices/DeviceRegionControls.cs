using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices;

/// <summary>
/// The capabilities over a device's own regions, index = the region's index in <see cref="IDevice.Regions"/>: the
/// supervisor (the trap table's only writer) registers the regions and grants them here once; every incarnation of
/// the device gets the same ones. A device uses them from inside its own trap handler to move, enable or disable a
/// region synchronously (a PCI BAR write), so the guest's next access already sees the new placement.
/// </summary>
public sealed class DeviceRegionControls
{
    private IReadOnlyList<RegionControl>? _controls;

    /// <summary>True once the supervisor has granted the controls (after registering the regions).</summary>
    public bool IsGranted => Volatile.Read(ref _controls) is not null;

    /// <summary>The number of granted regions.</summary>
    public int Count => Granted.Count;

    /// <summary>The control of region <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">The regions are not registered yet (a device may only use them from its trap handlers or slow path).</exception>
    public RegionControl this[int index] => Granted[index];

    private IReadOnlyList<RegionControl> Granted => Volatile.Read(ref _controls)
        ?? throw new InvalidOperationException("The device's regions are not registered yet");

    /// <summary>Grants the controls; the supervisor calls it once, right after registering the device's regions.</summary>
    /// <exception cref="InvalidOperationException">Already granted.</exception>
    public void Grant(IReadOnlyList<RegionControl> controls)
    {
        ArgumentNullException.ThrowIfNull(controls);
        if (Interlocked.CompareExchange(ref _controls, controls, null) is not null)
        {
            throw new InvalidOperationException("The device's region controls were already granted");
        }
    }
}
