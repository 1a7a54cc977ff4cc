namespace ActorVmm.Devices.Pci;

/// <summary>
/// SEAM (bound by the machine layer): where one BAR's trap region is and whether it decodes. A function calls
/// <see cref="Place"/> synchronously from inside the guest's configuration write (on the vCPU thread, under the
/// function's lock) whenever the BAR's placement changes, so the move is visible before the guest's next access.
/// Implementations must not block and must accept any placement: overlapping another region never throws (the
/// later placement is shadowed). The region's size and bus come from <see cref="PciBarDefinition"/>; an I/O BAR's
/// address is a port number (0–0xFFFF), which an arm64 binding maps into its PCI I/O MMIO window.
/// </summary>
public interface IBarPlacement
{
    /// <summary>Puts the BAR's region at <paramref name="baseAddress"/>, decoding when <paramref name="enabled"/>.</summary>
    /// <param name="baseAddress">First address (port) of the BAR; 0 when it has no valid placement.</param>
    /// <param name="enabled">True when the region should receive guest accesses.</param>
    void Place(ulong baseAddress, bool enabled);
}
