using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The base of every PCI device model: an <see cref="IDevice"/> with one region per BAR (region i = BAR
/// <see cref="PciDeviceContext.RegionBars"/>[i], on the bus the BAR's kind says), declared where the function's
/// state places it and disabled while the BAR does not decode. Guest writes to a BAR or to the command register move,
/// enable and disable those regions synchronously through the device's own region capabilities
/// (<see cref="RegionBarPlacement"/>), before the configuration write returns. Accesses to the MSI-X table and PBA are
/// served here; everything else in a BAR goes to <see cref="HandleBar"/>, under the function's lock, which is the
/// device's one lock.
/// </summary>
public abstract class PciDevice : IDevice
{
    private readonly PciBarDefinition[] _bars;

    /// <summary>Builds the function of this incarnation (power-on, or rebuilt from <paramref name="restored"/>).</summary>
    protected PciDevice(PciDeviceContext context, PciFunctionState? restored)
    {
        Context = context ?? throw new ArgumentNullException(nameof(context));
        _bars = [.. context.RegionBars];
        Function = context.CreateFunction(restored);
    }

    /// <summary>The incarnation's context.</summary>
    protected PciDeviceContext Context { get; }

    /// <summary>The device's function 0.</summary>
    public PciFunction Function { get; }

    /// <inheritdoc />
    public string Name => Context.Device.DeviceName;

    /// <summary>One region per BAR, where the BAR decodes now (address 0, disabled, while it does not).</summary>
    public IReadOnlyList<DeviceRegion> Regions => [.. _bars.Select(RegionOf)];

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access)
    {
        if ((uint)region >= (uint)_bars.Length)
        {
            if (!access.IsWrite)
            {
                access.Data.Fill(PciBus.NoResponseByte);
            }

            return;
        }

        int bar = _bars[region].Index;
        lock (Function.Sync)
        {
            if (!Function.TryHandleMsixAccess(bar, access))
            {
                HandleBar(bar, access);
            }
        }
    }

    /// <summary>Back to power-on: the function reset, then its BARs assigned and decoding as at creation, then the device's registers.</summary>
    public void Reset()
    {
        lock (Function.Sync)
        {
            Function.Reset();
            Context.ProgramFirmwareBars(Function);
            ResetRegisters();
        }
    }

    /// <inheritdoc />
    public abstract DeviceState CaptureState();

    private DeviceRegion RegionOf(PciBarDefinition bar)
    {
        var placement = Function.Placement(bar.Index);
        return new DeviceRegion(bar.Bus, placement.Address, bar.Size, Enabled: placement.Enabled);
    }

    /// <summary>
    /// An access to BAR <paramref name="bar"/> (its register index) outside MSI-X structures; offsets are relative to the
    /// BAR. Called under <see cref="PciFunction.Sync"/>.
    /// </summary>
    protected abstract void HandleBar(int bar, TrapAccess access);

    /// <summary>Puts the device's own registers (not the configuration space) back to power-on; called under <see cref="PciFunction.Sync"/>.</summary>
    protected abstract void ResetRegisters();
}
