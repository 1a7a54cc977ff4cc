namespace ActorVmm.Devices.Pci;

/// <summary>
/// The binding of a BAR to its trap-table region: region <paramref name="region"/> of the device's
/// <see cref="DeviceRegionControls"/> (the capabilities the supervisor granted) moves and enables the region
/// synchronously inside the configuration write, and never throws on the vCPU thread (an overlapping placement is
/// shadowed until the conflict is gone). Before the grant — while the first instance is being built — nothing is
/// registered yet: the placement is skipped, and the supervisor registers the region where the device's
/// <see cref="IDevice.Regions"/> say, which already reflect it.
/// </summary>
/// <param name="regions">The device's region capabilities.</param>
/// <param name="region">The index of the BAR's region in <see cref="IDevice.Regions"/>.</param>
public sealed class RegionBarPlacement(DeviceRegionControls regions, int region) : IBarPlacement
{
    private readonly DeviceRegionControls _regions = regions ?? throw new ArgumentNullException(nameof(regions));

    /// <inheritdoc />
    public void Place(ulong baseAddress, bool enabled)
    {
        if (_regions.IsGranted)
        {
            _regions[region].Place(baseAddress, enabled);
        }
    }
}
