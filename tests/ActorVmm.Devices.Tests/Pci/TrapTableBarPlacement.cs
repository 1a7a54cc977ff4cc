using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Tests.Pci;

/// <summary>
/// A BAR's region in a real trap table, registered disabled as the supervisor registers a BAR, and placed through the
/// production binding (<see cref="RegionBarPlacement"/> over the region's granted <see cref="RegionControl"/>).
/// </summary>
internal sealed class TrapTableBarPlacement : IBarPlacement
{
    private readonly RegionBarPlacement _placement;

    public TrapTableBarPlacement(TrapTableWriter writer, PciBarDefinition bar, TrapHandler handler, string name)
    {
        var handle = writer.Register(bar.Bus, 0, bar.Size, handler, TrapFlags.None, name, enabled: false);
        var regions = new DeviceRegionControls();
        regions.Grant([writer.Control(handle)]);
        _placement = new RegionBarPlacement(regions, 0);
    }

    public void Place(ulong baseAddress, bool enabled) => _placement.Place(baseAddress, enabled);
}
