using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The binding of a BAR to its trap-table region: the region capability the supervisor granted
/// (<see cref="RegionControl"/>) moves and enables the region synchronously inside the configuration write, and
/// never throws on the vCPU thread (an overlapping placement is shadowed until the conflict is gone).
/// </summary>
public sealed class RegionBarPlacement(RegionControl region) : IBarPlacement
{
    /// <inheritdoc />
    public void Place(ulong baseAddress, bool enabled) => region.Place(baseAddress, enabled);
}
