namespace ActorVmm.Devices.Pci;

/// <summary>Command register bits (PCI Local Bus 3.0 §6.2.2).</summary>
[Flags]
public enum PciCommand : ushort
{
    /// <summary>Nothing enabled (power-on).</summary>
    None = 0,

    /// <summary>Bit 0: respond to I/O space accesses (I/O BARs decode).</summary>
    IoSpace = 1 << 0,

    /// <summary>Bit 1: respond to memory space accesses (memory BARs decode).</summary>
    MemorySpace = 1 << 1,

    /// <summary>Bit 2: the function may master the bus (DMA, MSI writes).</summary>
    BusMaster = 1 << 2,

    /// <summary>Bit 3: special cycles (hard-wired 0 here).</summary>
    SpecialCycles = 1 << 3,

    /// <summary>Bit 4: memory write and invalidate (hard-wired 0 here).</summary>
    MemoryWriteInvalidate = 1 << 4,

    /// <summary>Bit 5: VGA palette snoop (hard-wired 0 here).</summary>
    VgaPaletteSnoop = 1 << 5,

    /// <summary>Bit 6: parity error response (stored; no parity errors are emulated).</summary>
    ParityErrorResponse = 1 << 6,

    /// <summary>Bit 7: IDSEL stepping (hard-wired 0).</summary>
    Stepping = 1 << 7,

    /// <summary>Bit 8: SERR# driver enable (stored; no system errors are emulated).</summary>
    Serr = 1 << 8,

    /// <summary>Bit 9: fast back-to-back to different targets (hard-wired 0 here).</summary>
    FastBackToBack = 1 << 9,

    /// <summary>Bit 10: INTx emulation disable: the function must not assert its INTx pin.</summary>
    InterruptDisable = 1 << 10,
}

/// <summary>Which command bits a guest can change.</summary>
public static class PciCommandBits
{
    /// <summary>The guest-writable bits; the others read 0 whatever is written.</summary>
    public const PciCommand Writable =
        PciCommand.IoSpace | PciCommand.MemorySpace | PciCommand.BusMaster | PciCommand.ParityErrorResponse | PciCommand.Serr | PciCommand.InterruptDisable;
}
