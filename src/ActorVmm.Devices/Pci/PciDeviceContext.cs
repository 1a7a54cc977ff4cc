namespace ActorVmm.Devices.Pci;

/// <summary>
/// What one incarnation of a PCI device is built from: its <see cref="DeviceContext"/>, the slot it sits in, its function
/// and the BAR addresses the VMM assigned at creation. <see cref="CreateFunction(PciFunctionState?)"/> builds the function bound to the
/// device's own regions (one per BAR, in BAR-index order), its INTx source and its MSI routes.
/// </summary>
public sealed class PciDeviceContext
{
    private readonly Func<int, IMsiVector>? _msiVectors;

    /// <summary>Creates the context of one incarnation.</summary>
    /// <param name="device">The device's context (its region capabilities, restored state, clock).</param>
    /// <param name="slot">The slot the platform gave the device.</param>
    /// <param name="definition">Function 0 of the device.</param>
    /// <param name="firmwareBars">The address of every BAR (by register index) at power-on.</param>
    /// <param name="msiVectors">The delivery of MSI-X vector n; required when the function has MSI-X.</param>
    /// <exception cref="ArgumentException">A BAR has no assigned address.</exception>
    public PciDeviceContext(DeviceContext device, PciSlot slot, PciFunctionDefinition definition, IReadOnlyDictionary<int, ulong> firmwareBars, Func<int, IMsiVector>? msiVectors = null)
    {
        Device = device ?? throw new ArgumentNullException(nameof(device));
        Slot = slot ?? throw new ArgumentNullException(nameof(slot));
        Definition = definition ?? throw new ArgumentNullException(nameof(definition));
        FirmwareBars = firmwareBars ?? throw new ArgumentNullException(nameof(firmwareBars));
        _msiVectors = msiVectors;
        RegionBars = [.. definition.Bars.OrderBy(b => b.Index)];
        if (RegionBars.FirstOrDefault(b => !firmwareBars.ContainsKey(b.Index)) is { } missing)
        {
            throw new ArgumentException($"BAR {missing.Index} of '{device.DeviceName}' has no assigned address", nameof(firmwareBars));
        }
    }

    /// <summary>The device's context.</summary>
    public DeviceContext Device { get; }

    /// <summary>The device's slot on bus 0.</summary>
    public PciSlot Slot { get; }

    /// <summary>Function 0 of the device.</summary>
    public PciFunctionDefinition Definition { get; }

    /// <summary>Where each BAR (by register index) decodes at power-on, as firmware would have programmed it.</summary>
    public IReadOnlyDictionary<int, ulong> FirmwareBars { get; }

    /// <summary>The BARs in region order: region i of the device is BAR <c>RegionBars[i]</c>.</summary>
    public IReadOnlyList<PciBarDefinition> RegionBars { get; }

    /// <summary>
    /// Builds this incarnation's function and attaches it to the slot (config cycles reach it from then on). Rebuilt from
    /// <paramref name="restored"/> it keeps every BAR and the command register the guest left; at power-on its BARs
    /// hold <see cref="FirmwareBars"/> with decoding on (<see cref="ProgramFirmwareBars"/>).
    /// </summary>
    /// <exception cref="DeviceStateException"><paramref name="restored"/> does not fit the function.</exception>
    public PciFunction CreateFunction(PciFunctionState? restored)
    {
        var regions = Device.Regions;
        return CreateFunction(restored, index => new RegionBarPlacement(regions, RegionOf(index)));
    }

    /// <summary>
    /// <see cref="CreateFunction(PciFunctionState?)"/> with the device's own BAR placements instead of trap regions: for
    /// a BAR that is memory the guest reaches as RAM (a framebuffer's <see cref="DeviceRamBarPlacement"/>), which then
    /// declares no region.
    /// </summary>
    /// <exception cref="DeviceStateException"><paramref name="restored"/> does not fit the function.</exception>
    public PciFunction CreateFunction(PciFunctionState? restored, Func<int, IBarPlacement> bars)
    {
        ArgumentNullException.ThrowIfNull(bars);
        var wiring = Slot.Wiring(0, Definition, bars, _msiVectors);
        var function = new PciFunction(Definition, wiring, restored);
        if (restored is null)
        {
            ProgramFirmwareBars(function);
        }

        Slot.Attach(0, function);
        return function;
    }

    /// <summary>
    /// Writes <see cref="FirmwareBars"/> into the BAR registers and turns on I/O and memory decoding for the kinds of BAR
    /// the function has, through the same configuration writes a guest makes (so the placements follow).
    /// </summary>
    public void ProgramFirmwareBars(PciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        var decode = PciCommand.None;
        foreach (var bar in RegionBars)
        {
            ulong address = FirmwareBars[bar.Index];
            function.WriteConfig(BarRegister(bar.Index), PciHeader.BarSize, (uint)address);
            if (bar.Kind == PciBarKind.Memory64)
            {
                function.WriteConfig(BarRegister(bar.Index + 1), PciHeader.BarSize, (uint)(address >> 32));
            }

            decode |= bar.Kind == PciBarKind.Io ? PciCommand.IoSpace : PciCommand.MemorySpace;
        }

        if (decode != PciCommand.None)
        {
            function.WriteConfig(PciHeader.Command, sizeof(ushort), (uint)(function.Command | decode));
        }
    }

    /// <summary>The configuration offset of BAR register <paramref name="index"/>.</summary>
    public static int BarRegister(int index) => PciHeader.Bar0 + (index * PciHeader.BarSize);

    private int RegionOf(int barIndex)
    {
        for (int i = 0; i < RegionBars.Count; i++)
        {
            if (RegionBars[i].Index == barIndex)
            {
                return i;
            }
        }

        throw new ArgumentException($"the function has no BAR {barIndex}", nameof(barIndex));
    }
}
