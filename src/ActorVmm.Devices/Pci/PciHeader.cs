namespace ActorVmm.Devices.Pci;

/// <summary>
/// Offsets of the type-0 configuration header (PCI Local Bus 3.0 §6.1) and the sizes of configuration space.
/// Multi-byte registers are little-endian.
/// </summary>
public static class PciHeader
{
    /// <summary>Vendor ID (16 bits, read-only); 0xFFFF on an absent function.</summary>
    public const int VendorId = 0x00;

    /// <summary>Device ID (16 bits, read-only).</summary>
    public const int DeviceId = 0x02;

    /// <summary>Command register (16 bits, see <see cref="PciCommand"/>).</summary>
    public const int Command = 0x04;

    /// <summary>Status register (16 bits, see <see cref="PciStatus"/>).</summary>
    public const int Status = 0x06;

    /// <summary>Revision ID (8 bits, read-only).</summary>
    public const int RevisionId = 0x08;

    /// <summary>Programming interface, the low byte of the 24-bit class code (read-only).</summary>
    public const int ProgIf = 0x09;

    /// <summary>Sub-class, the middle byte of the class code (read-only).</summary>
    public const int SubClass = 0x0A;

    /// <summary>Base class, the high byte of the class code (read-only).</summary>
    public const int BaseClass = 0x0B;

    /// <summary>Cache line size in dwords (8 bits, writable, no effect on emulated devices).</summary>
    public const int CacheLineSize = 0x0C;

    /// <summary>Latency timer (8 bits, writable: a bus master's burst limit, stored only).</summary>
    public const int LatencyTimer = 0x0D;

    /// <summary>Header type (bits 6:0 layout, 0 = type 0) with the multi-function bit 7 (read-only).</summary>
    public const int HeaderType = 0x0E;

    /// <summary>Built-in self test: 0, no BIST capability (read-only).</summary>
    public const int Bist = 0x0F;

    /// <summary>Base address register 0; BAR n is at <c>Bar0 + 4 n</c>.</summary>
    public const int Bar0 = 0x10;

    /// <summary>Number of BARs in a type-0 header.</summary>
    public const int BarCount = 6;

    /// <summary>Bytes per BAR register.</summary>
    public const int BarSize = 4;

    /// <summary>CardBus CIS pointer: 0 (read-only).</summary>
    public const int CardbusCisPointer = 0x28;

    /// <summary>Subsystem vendor ID (16 bits, read-only).</summary>
    public const int SubsystemVendorId = 0x2C;

    /// <summary>Subsystem ID (16 bits, read-only).</summary>
    public const int SubsystemId = 0x2E;

    /// <summary>Expansion ROM base address: reads 0, no ROM (read-only).</summary>
    public const int ExpansionRom = 0x30;

    /// <summary>Capabilities pointer (8 bits, read-only; bits 1:0 reserved 0); valid when <see cref="PciStatus.CapabilitiesList"/> is set.</summary>
    public const int CapabilitiesPointer = 0x34;

    /// <summary>Interrupt line (8 bits, writable: the IRQ firmware routed INTx to; 0xFF = unknown / none).</summary>
    public const int InterruptLine = 0x3C;

    /// <summary>Interrupt pin (8 bits, read-only, see <see cref="PciInterruptPin"/>).</summary>
    public const int InterruptPin = 0x3D;

    /// <summary>Min_Gnt: 0 (read-only).</summary>
    public const int MinGrant = 0x3E;

    /// <summary>Max_Lat: 0 (read-only).</summary>
    public const int MaxLatency = 0x3F;

    /// <summary>Size of the standard header; capabilities start at or after it.</summary>
    public const int StandardHeaderSize = 0x40;

    /// <summary>PCI-compatible configuration space per function (what 0xCF8/0xCFC reaches).</summary>
    public const int ConfigSpaceSize = 256;

    /// <summary>PCI Express extended configuration space per function (what ECAM reaches); 256..4095 read 0 on PCI-compatible functions.</summary>
    public const int ExtendedConfigSpaceSize = 4096;

    /// <summary>Header type value of a type-0 (endpoint) header.</summary>
    public const byte HeaderTypeEndpoint = 0x00;

    /// <summary>Header type bit 7: the device has functions other than 0.</summary>
    public const byte HeaderTypeMultiFunction = 0x80;

    /// <summary>Interrupt line value meaning "not connected / unknown" (PCI firmware spec).</summary>
    public const byte InterruptLineNone = 0xFF;

    /// <summary>Vendor ID no real function has: what a read of an absent function's vendor ID returns.</summary>
    public const ushort InvalidVendorId = 0xFFFF;

    /// <summary>Offset of BAR <paramref name="index"/>.</summary>
    public static int Bar(int index) => Bar0 + (BarSize * index);
}
