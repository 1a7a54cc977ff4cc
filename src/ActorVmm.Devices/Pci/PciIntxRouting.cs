using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// How the platform wires the four PCI interrupt lines (PIRQA–D) and how a function's INTx pin reaches one of them:
/// the standard swizzle of bus 0, line = (pin − 1 + device) mod 4, so INTA of neighbouring slots lands on different
/// lines. Each function gets its own source (an <see cref="IInterruptLine"/>) on that line from <c>connect</c>.
/// </summary>
public sealed class PciIntxRouting
{
    /// <summary>PCI interrupt lines (INTA–INTD, PIRQA–D).</summary>
    public const int LineCount = PciIntxSwizzle.PinCount;

    private readonly int[] _lines;
    private readonly Func<int, string, IInterruptLine> _connect;

    /// <summary>Routes the four lines to <paramref name="lines"/> (GSIs / IRQ numbers).</summary>
    /// <param name="lines">The platform IRQ of PIRQA, PIRQB, PIRQC and PIRQD.</param>
    /// <param name="connect">
    /// SEAM (bound by the machine layer's shared level lines, e.g. <c>IInterruptRouter.GetSource(gsi, owner)</c>): the
    /// source of owner (<c>"pci:slot.function"</c>) on the shared level-triggered line with that IRQ number.
    /// </param>
    public PciIntxRouting(IReadOnlyList<int> lines, Func<int, string, IInterruptLine> connect)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(connect);
        if (lines.Count != LineCount || lines.Any(l => l < 0))
        {
            throw new ArgumentException($"PCI INTx routing needs {LineCount} non-negative IRQ numbers", nameof(lines));
        }

        _lines = [.. lines];
        _connect = connect;
    }

    /// <summary>PIRQA–D on the x86 IOAPIC: GSIs 16–19, level-triggered, active low (as QEMU's q35 and kvmtool route them).</summary>
    public static IReadOnlyList<int> X86IoApicGsis { get; } = [.. Enumerable.Range(PciIntxSwizzle.FirstGsi, LineCount)];

    /// <summary>PIRQA–D on the 8259 pair (no IOAPIC): IRQs 5, 9, 10 and 11, set level-triggered in the ELCR.</summary>
    public static IReadOnlyList<int> X86PicIrqs => PciIntxSwizzle.PicIrqs;

    /// <summary>The platform IRQ of each line, PIRQA first.</summary>
    public IReadOnlyList<int> Lines => _lines;

    /// <summary>The IRQ pin <paramref name="pin"/> of a function in slot <paramref name="device"/> reaches (bus 0 swizzle).</summary>
    /// <exception cref="ArgumentOutOfRangeException">No pin, or a device number outside 0–31.</exception>
    public int Line(int device, PciInterruptPin pin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(device);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(device, PciAddress.DevicesPerBus);
        if (pin is < PciInterruptPin.IntA or > PciInterruptPin.IntD)
        {
            throw new ArgumentOutOfRangeException(nameof(pin), pin, "a routed pin is INTA..INTD");
        }

        return _lines[Swizzle(device, pin)];
    }

    /// <summary>Which of the four lines (0 = PIRQA) pin <paramref name="pin"/> of device <paramref name="device"/> reaches: (pin − 1 + device) mod 4, the rule the MP table describes too.</summary>
    public static int Swizzle(int device, PciInterruptPin pin) => PciIntxSwizzle.Line(device, (int)pin);

    /// <summary><paramref name="owner"/>'s source on the line with IRQ <paramref name="irq"/>.</summary>
    public IInterruptLine Connect(int irq, string owner) => _connect(irq, owner) ?? throw new InvalidOperationException($"no interrupt source for IRQ {irq}");
}
