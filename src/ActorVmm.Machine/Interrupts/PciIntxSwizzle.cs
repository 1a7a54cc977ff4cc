namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// The PCI INTx wiring of bus 0, one rule for the firmware tables the guest reads (the x86 MP table, the arm64 device
/// tree) and the PCI devices that raise the lines: INTA–INTD of device (slot) s reach line (pin − 1 + s) mod 4, the
/// conventional swizzle of a host bridge; on x86 line l is IOAPIC pin 16 + l, level-triggered and active-low.
/// </summary>
public static class PciIntxSwizzle
{
    /// <summary>The first IOAPIC pin (GSI) PCI interrupts use on x86; 0–15 are the ISA IRQs.</summary>
    public const int FirstGsi = 16;

    /// <summary>INTA..INTD, and as many lines (PIRQA–D).</summary>
    public const int PinCount = 4;

    /// <summary>Device numbers on a PCI bus.</summary>
    public const int SlotCount = 32;

    /// <summary>The interrupt-pin register value of INTA (1); INTD is 4, 0 means no interrupt pin.</summary>
    public const int IntA = 1;

    /// <summary>
    /// PIRQA–D's 8259 IRQs (5, 9, 10, 11) on a machine whose PCI lines reach the 8259 pair (the emulator): a chipset's
    /// PIRQ router, which also wires line l to IOAPIC pin <see cref="FirstGsi"/> + l there.
    /// </summary>
    public static IReadOnlyList<int> PicIrqs { get; } = [5, 9, 10, 11];

    /// <summary>The line (0 = PIRQA) that <paramref name="pin"/> (1 = INTA … 4 = INTD) of device <paramref name="slot"/> reaches.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The slot is not 0–31 or the pin not 1–4.</exception>
    public static int Line(int slot, int pin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, SlotCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(pin, IntA);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pin, IntA + PinCount - 1);
        return (pin - IntA + slot) % PinCount;
    }

    /// <summary>The x86 IOAPIC pin (GSI) of <paramref name="pin"/> of device <paramref name="slot"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The slot is not 0–31 or the pin not 1–4.</exception>
    public static int Gsi(int slot, int pin) => FirstGsi + Line(slot, pin);
}
