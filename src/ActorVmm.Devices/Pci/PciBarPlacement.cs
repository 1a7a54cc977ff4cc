namespace ActorVmm.Devices.Pci;

/// <summary>
/// Where a BAR decodes, as its registers and the command register say. <see cref="Enabled"/> requires the decode bit
/// (I/O or memory space) and a fully programmed BAR: not 0, not in the middle of sizing (either register of the BAR
/// holding all ones in its address bits), and for I/O inside the 64 KiB port space. A BAR without a valid placement
/// reports address 0, disabled, so a binding never sees a half-written or wrapping base.
/// </summary>
/// <param name="Address">The BAR's base address (port), or 0 when it has none.</param>
/// <param name="Enabled">True when the BAR decodes guest accesses.</param>
public readonly record struct PciBarPlacement(ulong Address, bool Enabled)
{
    /// <summary>No placement: address 0, not decoding.</summary>
    public static PciBarPlacement Unplaced { get; } = new(0, false);

    /// <inheritdoc />
    public override string ToString() => Address == 0 && !Enabled ? "unassigned" : $"0x{Address:x}{(Enabled ? string.Empty : " (disabled)")}";
}
