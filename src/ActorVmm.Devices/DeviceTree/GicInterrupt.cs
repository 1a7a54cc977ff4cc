namespace ActorVmm.Devices.DeviceTree;

/// <summary>
/// One interrupt specifier for an <c>arm,gic-v3</c> (or GICv2) parent, <c>#interrupt-cells = &lt;3&gt;</c>: type, number
/// within that type, trigger flags (Linux <c>Documentation/devicetree/bindings/interrupt-controller/arm,gic-v3.yaml</c>).
/// </summary>
/// <param name="Type">Shared (SPI) or per-CPU (PPI).</param>
/// <param name="Number">SPI 0..987 (INTID 32..1019) or PPI 0..15 (INTID 16..31).</param>
/// <param name="Trigger">Edge or level, and polarity.</param>
public readonly record struct GicInterrupt(GicInterruptType Type, uint Number, GicTrigger Trigger)
{
    /// <summary>INTID of SPI 0: SPIs follow the 16 SGIs and 16 PPIs.</summary>
    public const uint FirstSpiIntId = 32;

    /// <summary>INTID of PPI 0.</summary>
    public const uint FirstPpiIntId = 16;

    /// <summary>Highest SPI number (INTID 1019).</summary>
    public const uint MaxSpi = 1019 - FirstSpiIntId;

    /// <summary>Highest PPI number (INTID 31).</summary>
    public const uint MaxPpi = FirstSpiIntId - FirstPpiIntId - 1;

    /// <summary>
    /// The SPI a device interrupt line (a backend GSI such as <c>Arm64Platform.UartIrq</c>) reaches: a GIC backend raises
    /// line N as SPI N, INTID 32 + N — KVM_IRQ_LINE's SPI numbering, where kvmtool's <c>generate_irq_prop</c> writes
    /// <c>irq - GIC_SPI_IRQ_BASE</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The line is negative or past the last SPI.</exception>
    public static GicInterrupt ForLine(int line, GicTrigger trigger)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(line);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)line, MaxSpi, nameof(line));
        return new GicInterrupt(GicInterruptType.Spi, (uint)line, trigger);
    }

    /// <summary>A per-CPU interrupt (the architected timers).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Past the last PPI.</exception>
    public static GicInterrupt Ppi(uint number, GicTrigger trigger)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(number, MaxPpi);
        return new GicInterrupt(GicInterruptType.Ppi, number, trigger);
    }

    /// <summary>The INTID the guest's GIC driver sees.</summary>
    public uint IntId => Number + (Type == GicInterruptType.Spi ? FirstSpiIntId : FirstPpiIntId);
}

/// <summary>First cell of a GIC interrupt specifier (<c>GIC_SPI</c>, <c>GIC_PPI</c> in dt-bindings/interrupt-controller/arm-gic.h).</summary>
public enum GicInterruptType : uint
{
    /// <summary>Shared peripheral interrupt.</summary>
    Spi = 0,

    /// <summary>Private (per-CPU) peripheral interrupt.</summary>
    Ppi = 1,
}

/// <summary>Third cell of a GIC interrupt specifier (<c>IRQ_TYPE_*</c> in dt-bindings/interrupt-controller/irq.h).</summary>
public enum GicTrigger : uint
{
    /// <summary>IRQ_TYPE_EDGE_RISING.</summary>
    EdgeRising = 1,

    /// <summary>IRQ_TYPE_EDGE_FALLING.</summary>
    EdgeFalling = 2,

    /// <summary>IRQ_TYPE_LEVEL_HIGH.</summary>
    LevelHigh = 4,

    /// <summary>IRQ_TYPE_LEVEL_LOW.</summary>
    LevelLow = 8,
}
