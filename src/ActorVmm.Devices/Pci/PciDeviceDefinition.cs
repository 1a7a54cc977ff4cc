namespace ActorVmm.Devices.Pci;

/// <summary>
/// A device on the VM's PCI bus, as a platform takes it: a name, its function (so the platform can give it a slot and
/// assign its BARs before any instance exists) and a factory that builds a FRESH instance from a
/// <see cref="PciDeviceContext"/> every time it is called (first start and every rebuild).
/// </summary>
/// <param name="Name">Device name (as for every device: it names the actor, the regions and the PCI slot).</param>
/// <param name="Function">Function 0 of the device.</param>
/// <param name="Factory">Builds an instance; it must build its <see cref="PciFunction"/> with <see cref="PciDeviceContext.CreateFunction(PciFunctionState?)"/> (or its overload with its own BAR placements).</param>
public sealed record PciDeviceDefinition(string Name, PciFunctionDefinition Function, Func<PciDeviceContext, IDevice> Factory)
{
    /// <summary>The device number on bus 0 (1–31), or null for the lowest free one, in the order devices are added.</summary>
    public int? Slot { get; init; }

    /// <summary>
    /// BAR addresses (by register index) that power-on fixes instead of taking them from the PCI windows: where a boot
    /// protocol already points the guest (the framebuffer at the map's framebuffer window, which Linux's
    /// <c>screen_info</c> names). Null for the windows' assignment. The guest may move such a BAR like any other.
    /// </summary>
    public IReadOnlyDictionary<int, ulong>? FixedBars { get; init; }
}
