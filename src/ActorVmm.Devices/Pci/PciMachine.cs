using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The PCI part of one boot generation of a machine: bus 0 with its host bridge at 00:00.0, the device definitions that
/// put the host bridge's configuration paths (0xCF8/0xCFC, ECAM) on the trap bus, and every added PCI device on a stable
/// slot with its BARs assigned from the platform's windows. Everything goes through the same device registration as
/// every other device; the bus outlives the devices' incarnations.
/// </summary>
public sealed class PciMachine
{
    private readonly PciConfigWindows _config;
    private readonly PciBarAllocator _allocator;
    private readonly Func<MsiMessage, IMsiRoute>? _msiRoutes;
    private readonly List<PciPlannedDevice> _planned = [];

    /// <summary>Creates the bus.</summary>
    /// <param name="config">Where configuration space is reachable.</param>
    /// <param name="bars">The windows BARs are assigned from.</param>
    /// <param name="intx">How INTx pins reach platform IRQs; null routes none (functions with a pin are then refused).</param>
    /// <param name="msiRoutes">The VM's <see cref="IInterruptRouter.CreateMsiRoute"/>; null when the platform has no MSI (functions with MSI-X are then refused).</param>
    public PciMachine(PciConfigWindows config, PciBarWindows bars, PciIntxRouting? intx, Func<MsiMessage, IMsiRoute>? msiRoutes)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(bars);
        config.Validate();
        _config = config;
        _allocator = new PciBarAllocator(bars);
        _msiRoutes = msiRoutes;
        Bus = new PciBus(intx);
    }

    /// <summary>Bus 0.</summary>
    public PciBus Bus { get; }

    /// <summary>The devices added so far with their slots and power-on BARs, in the order they were added.</summary>
    public IReadOnlyList<PciPlannedDevice> Planned => _planned;

    /// <summary>The host bridge device: the configuration paths of <see cref="Bus"/> (its CONFIG_ADDRESS latch survives a restart).</summary>
    public DeviceDefinition HostBridge() =>
        new(PciHostBridgeDevice.DeviceName, c => new PciHostBridgeDevice(Bus, _config, c.Restore<PciHostBridgeState>()));

    /// <summary>
    /// Puts <paramref name="device"/> on the bus: a slot, its BARs' addresses (its <see cref="PciDeviceDefinition.FixedBars"/>,
    /// else from the windows), its MSI routes; returns its device definition.
    /// </summary>
    /// <exception cref="ArgumentException">The name, slot, function or a fixed BAR address is unusable.</exception>
    /// <exception cref="InvalidOperationException">No slot or window room is left, or the function needs interrupts the platform does not route.</exception>
    public DeviceDefinition Add(PciDeviceDefinition device)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(device.Factory);
        if (device.Slot == 0)
        {
            throw new ArgumentException($"slot 0 is the host bridge's; '{device.Name}' needs another", nameof(device));
        }

        device.Function.Validate();
        if (device.Function.InterruptPin != PciInterruptPin.None && Bus.IntxRouting is null)
        {
            throw new InvalidOperationException($"'{device.Name}' uses INTx but the platform routes no PCI interrupts");
        }

        PciMsiRoutes? routes = null;
        if (device.Function.Msix is not null)
        {
            routes = new PciMsiRoutes(_msiRoutes ?? throw new InvalidOperationException($"'{device.Name}' has MSI-X but the platform delivers no MSIs"));
        }

        var bars = device.FixedBars is { } fixedBars ? _allocator.Fixed(device.Name, device.Function, fixedBars) : _allocator.Assign(device.Name, device.Function);
        var slot = Bus.AddSlot(device.Name, device.Slot);
        _planned.Add(new PciPlannedDevice(slot.Address(0), device.Name, device.Function, bars));
        Func<int, IMsiVector>? vectors = routes is null ? null : routes.Vector;
        return new DeviceDefinition(device.Name, c => device.Factory(new PciDeviceContext(c, slot, device.Function, bars, vectors)));
    }
}

/// <summary>A device as the platform placed it: address, name, function and the BARs it gets at power-on.</summary>
/// <param name="Address">Its function 0.</param>
/// <param name="Name">The device's name.</param>
/// <param name="Function">Its function definition.</param>
/// <param name="Bars">Power-on BAR addresses by register index.</param>
public sealed record PciPlannedDevice(PciAddress Address, string Name, PciFunctionDefinition Function, IReadOnlyDictionary<int, ulong> Bars)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{Address} {Name} {Function.VendorId:x4}:{Function.DeviceId:x4}"
        + string.Concat(Function.Bars.OrderBy(b => b.Index).Select(b => $" BAR{b.Index} 0x{Bars[b.Index]:x} [0x{b.Size:x}]"));
}
