namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// The x86 platform's PCI INTx wiring, one rule for the MP table the guest reads and the PCI devices that raise the
/// lines: INTA–INTD of device (slot) s on bus 0 reach IOAPIC pin 16 + ((pin − 1 + s) mod 4), level-triggered and
/// active-low, the conventional swizzle of a PCI-to-ISA bridge board.
/// </summary>
public static class PciIntxRouting
{
    /// <summary>The first IOAPIC pin (GSI) PCI interrupts use; 0–15 are the ISA IRQs.</summary>
    public const int FirstGsi = 16;

    /// <summary>INTA..INTD.</summary>
    public const int PinCount = 4;

    /// <summary>Device numbers on a PCI bus.</summary>
    public const int SlotCount = 32;

    /// <summary>The interrupt-pin register value of INTA (1); INTD is 4, 0 means no interrupt pin.</summary>
    public const int IntA = 1;

    /// <summary>The IOAPIC pin (GSI) of <paramref name="pin"/> (1 = INTA … 4 = INTD) of device <paramref name="slot"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The slot is not 0–31 or the pin not 1–4.</exception>
    public static int Gsi(int slot, int pin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, SlotCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(pin, IntA);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pin, IntA + PinCount - 1);
        return FirstGsi + ((pin - IntA + slot) % PinCount);
    }
}
