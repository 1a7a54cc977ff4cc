using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// A device number on bus 0 that the platform gave a named PCI device. It outlives the device's incarnations: each
/// (re)started instance builds its <see cref="PciFunction"/> with <see cref="Wiring"/> (the same INTx source every
/// time, so a restart overwrites the old level instead of leaving it stuck high) and <see cref="Attach"/>es it; config
/// cycles then reach the new instance.
/// </summary>
public sealed class PciSlot
{
    private readonly PciIntxRouting? _routing;
    private readonly PciFunction?[] _functions = new PciFunction?[PciAddress.FunctionsPerDevice];
    private readonly Dictionary<(int Function, int Irq), IInterruptLine> _sources = [];
    private readonly Lock _lock = new();
    private bool _multiFunction;

    internal PciSlot(string name, int device, PciIntxRouting? routing)
    {
        Name = name;
        Device = device;
        _routing = routing;
    }

    /// <summary>The slot's name (the device definition's name).</summary>
    public string Name { get; }

    /// <summary>Device number on bus 0.</summary>
    public int Device { get; }

    /// <summary>The BDF of function <paramref name="function"/> in this slot.</summary>
    public PciAddress Address(int function) => new(0, Device, function);

    /// <summary>The platform IRQ <paramref name="pin"/> reaches from this slot, or null when the platform routes no INTx.</summary>
    public int? Line(PciInterruptPin pin) => pin == PciInterruptPin.None || _routing is null ? null : _routing.Line(Device, pin);

    /// <summary>
    /// Wiring for function <paramref name="function"/> of <paramref name="definition"/>: its INTx source on the swizzled
    /// line (one per function, reused across restarts), the interrupt line register firmware would program, and the
    /// given BAR placements and MSI vectors.
    /// </summary>
    /// <exception cref="InvalidOperationException">The function has an INTx pin but the platform routes no INTx.</exception>
    public PciFunctionWiring Wiring(int function, PciFunctionDefinition definition, Func<int, IBarPlacement> bars, Func<int, IMsiVector>? msiVectors = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        _ = Address(function);
        var wiring = new PciFunctionWiring(bars) { MsiVectors = msiVectors };
        if (Line(definition.InterruptPin) is not { } irq)
        {
            return definition.InterruptPin == PciInterruptPin.None
                ? wiring
                : throw new InvalidOperationException($"slot {Name} uses INTx but the platform routes no PCI interrupts");
        }

        IInterruptLine source;
        lock (_lock)
        {
            if (!_sources.TryGetValue((function, irq), out source!))
            {
                source = _routing!.Connect(irq, $"pci:{Name}.{function}");
                _sources[(function, irq)] = source;
            }
        }

        byte line = irq < PciHeader.InterruptLineNone ? (byte)irq : PciHeader.InterruptLineNone;
        return wiring with { Intx = source, InterruptLine = line };
    }

    /// <summary>The function attached at <paramref name="function"/>, or null.</summary>
    public PciFunction? Function(int function) => (uint)function < PciAddress.FunctionsPerDevice ? Volatile.Read(ref _functions[function]) : null;

    /// <summary>Makes <paramref name="instance"/> answer config cycles for function <paramref name="function"/> (replacing a previous incarnation).</summary>
    public void Attach(int function, PciFunction instance)
    {
        ArgumentNullException.ThrowIfNull(instance);
        _ = Address(function);
        lock (_lock)
        {
            _multiFunction |= function != 0;
            Volatile.Write(ref _functions[function], instance);
            if (Function(0) is { } first)
            {
                first.MultiFunction = _multiFunction;
            }
        }
    }

    /// <summary>Removes <paramref name="instance"/> if it is still the one attached (a newer incarnation stays).</summary>
    public bool Detach(int function, PciFunction instance)
    {
        _ = Address(function);
        return Interlocked.CompareExchange(ref _functions[function], null, instance) == instance;
    }
}
