using System.Buffers.Binary;
using System.Text;
using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Machine.Boot;

/// <summary>What the MP table describes.</summary>
/// <param name="CpuCount">vCPUs; their local APIC IDs are 0 .. CpuCount − 1 and vCPU 0 is the boot processor.</param>
/// <param name="LocalApicAddress">Where every local APIC's registers are.</param>
/// <param name="IoApicAddress">Where the IOAPIC's registers are.</param>
/// <param name="CpuSignature">The processor entries' CPU signature (CPUID 1 EAX); 0 is allowed, Linux reads CPUID itself.</param>
/// <param name="CpuFeatures">The processor entries' feature flags (CPUID 1 EDX); 0 is allowed likewise.</param>
public sealed record MpTableConfig(int CpuCount, ulong LocalApicAddress, ulong IoApicAddress, uint CpuSignature = 0, uint CpuFeatures = 0);

/// <summary>
/// An Intel MultiProcessor Specification 1.4 table, as kvmtool and Firecracker give a Linux guest instead of ACPI:
/// the floating pointer ("_MP_") followed by the configuration table ("PCMP") with one processor entry per vCPU, a PCI
/// bus (0) and an ISA bus (1), the IOAPIC (ID = CpuCount, after the CPUs), ISA IRQs 0–15 on IOAPIC pins 0–15 (the
/// in-kernel irqchip's default GSI routing), PCI INTA–INTD of every slot on pins 16–19 by
/// <see cref="PciIntxSwizzle"/> (level, active-low), and LINT0 = ExtINT / LINT1 = NMI on every local APIC.
/// </summary>
public static class MpTable
{
    /// <summary>Where the loader puts it: the start of the BIOS area 0xF0000–0xFFFFF, which Linux scans and e820 reserves.</summary>
    public const ulong DefaultAddress = 0xF_0000;

    /// <summary>Room the loader sets aside for it (the rest of the BIOS area).</summary>
    public const ulong MaxSize = 0x1_0000;

    /// <summary>"_MP_": the floating pointer's signature, little-endian.</summary>
    public const uint FloatingPointerSignature = 0x5F50_4D5F;

    /// <summary>"PCMP": the configuration table's signature, little-endian.</summary>
    public const uint ConfigTableSignature = 0x504D_4350;

    /// <summary>Floating pointer size (one 16-byte paragraph).</summary>
    public const int FloatingPointerSize = 16;

    /// <summary>Configuration table header size.</summary>
    public const int ConfigHeaderSize = 44;

    /// <summary>MP specification revision 1.4.</summary>
    public const byte SpecRevision = 4;

    /// <summary>Entry type: processor (20 bytes).</summary>
    public const byte EntryProcessor = 0;

    /// <summary>Entry type: bus (8 bytes).</summary>
    public const byte EntryBus = 1;

    /// <summary>Entry type: I/O APIC (8 bytes).</summary>
    public const byte EntryIoApic = 2;

    /// <summary>Entry type: I/O interrupt assignment (8 bytes).</summary>
    public const byte EntryIoInterrupt = 3;

    /// <summary>Entry type: local interrupt assignment (8 bytes).</summary>
    public const byte EntryLocalInterrupt = 4;

    /// <summary>Size of a processor entry.</summary>
    public const int ProcessorEntrySize = 20;

    /// <summary>Size of every other entry.</summary>
    public const int ShortEntrySize = 8;

    /// <summary>Processor flag: enabled.</summary>
    public const byte CpuEnabled = 0x1;

    /// <summary>Processor flag: the boot processor.</summary>
    public const byte CpuBootProcessor = 0x2;

    /// <summary>Local APIC version of an integrated xAPIC (what KVM's local APIC reports).</summary>
    public const byte LocalApicVersion = 0x14;

    /// <summary>IOAPIC version KVM's in-kernel IOAPIC reports (82093AA-compatible, 24 pins).</summary>
    public const byte IoApicVersion = 0x11;

    /// <summary>IOAPIC flag: usable.</summary>
    public const byte IoApicEnabled = 0x1;

    /// <summary>Interrupt type: vectored interrupt.</summary>
    public const byte InterruptInt = 0;

    /// <summary>Interrupt type: NMI.</summary>
    public const byte InterruptNmi = 1;

    /// <summary>Interrupt type: ExtINT (the 8259's vector).</summary>
    public const byte InterruptExtInt = 3;

    /// <summary>Interrupt flags: polarity and trigger as the source bus defines them (ISA: edge, active-high).</summary>
    public const ushort FlagsConforming = 0;

    /// <summary>Interrupt flags: active-low polarity (bits 0–1 = 11).</summary>
    public const ushort FlagsActiveLow = 0x3;

    /// <summary>Interrupt flags: level trigger (bits 2–3 = 11).</summary>
    public const ushort FlagsLevel = 0x3 << 2;

    /// <summary>The bus ID of PCI bus 0.</summary>
    public const byte PciBusId = 0;

    /// <summary>The bus ID given to the ISA bus.</summary>
    public const byte IsaBusId = 1;

    /// <summary>ISA IRQs described.</summary>
    public const int IsaIrqCount = 16;

    /// <summary>Destination "every local APIC" of a local interrupt entry.</summary>
    public const byte AllLocalApics = 0xFF;

    /// <summary>OEM ID, 8 characters.</summary>
    public const string OemId = "ACTORVMM";

    /// <summary>Product ID, 12 characters.</summary>
    public const string ProductId = "ActorVmm x86";

    private const string PciBusType = "PCI   ";
    private const string IsaBusType = "ISA   ";

    /// <summary>Bytes the table takes (floating pointer and configuration table).</summary>
    public static int Size(MpTableConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return FloatingPointerSize + ConfigHeaderSize + (config.CpuCount * ProcessorEntrySize) + (EntryCount(config) - config.CpuCount) * ShortEntrySize;
    }

    /// <summary>The table's bytes for guest-physical <paramref name="address"/> (16-byte aligned); the configuration table follows the floating pointer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No CPU, more CPUs than APIC IDs below the IOAPIC's, a misaligned or above-4 GiB address.</exception>
    public static byte[] Build(MpTableConfig config, ulong address = DefaultAddress)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(config.CpuCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(config.CpuCount, AllLocalApics - 1);
        if (address % FloatingPointerSize != 0 || address + (ulong)Size(config) > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(address), address, "The MP table must be 16-byte aligned and below 4 GiB");
        }

        var table = new byte[Size(config)];
        var config32 = table.AsSpan(FloatingPointerSize);
        int offset = ConfigHeaderSize;
        byte ioApicId = (byte)config.CpuCount;

        for (int cpu = 0; cpu < config.CpuCount; cpu++)
        {
            var e = config32.Slice(offset, ProcessorEntrySize);
            e[0] = EntryProcessor;
            e[1] = (byte)cpu;
            e[2] = LocalApicVersion;
            e[3] = (byte)(CpuEnabled | (cpu == 0 ? CpuBootProcessor : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], config.CpuSignature);
            BinaryPrimitives.WriteUInt32LittleEndian(e[8..], config.CpuFeatures);
            offset += ProcessorEntrySize;
        }

        offset = WriteBus(config32, offset, PciBusId, PciBusType);
        offset = WriteBus(config32, offset, IsaBusId, IsaBusType);

        var ioApic = config32.Slice(offset, ShortEntrySize);
        ioApic[0] = EntryIoApic;
        ioApic[1] = ioApicId;
        ioApic[2] = IoApicVersion;
        ioApic[3] = IoApicEnabled;
        BinaryPrimitives.WriteUInt32LittleEndian(ioApic[4..], (uint)config.IoApicAddress);
        offset += ShortEntrySize;

        for (int irq = 0; irq < IsaIrqCount; irq++)
        {
            offset = WriteInterrupt(config32, offset, EntryIoInterrupt, InterruptInt, FlagsConforming, IsaBusId, (byte)irq, ioApicId, (byte)irq);
        }

        for (int slot = 0; slot < PciIntxSwizzle.SlotCount; slot++)
        {
            for (int pin = PciIntxSwizzle.IntA; pin < PciIntxSwizzle.IntA + PciIntxSwizzle.PinCount; pin++)
            {
                // Source bus IRQ for PCI: device number in bits 2–6, INT# (0 = INTA) in bits 0–1.
                byte source = (byte)((slot << 2) | (pin - PciIntxSwizzle.IntA));
                byte gsi = (byte)PciIntxSwizzle.Gsi(slot, pin);
                offset = WriteInterrupt(config32, offset, EntryIoInterrupt, InterruptInt, FlagsLevel | FlagsActiveLow, PciBusId, source, ioApicId, gsi);
            }
        }

        offset = WriteInterrupt(config32, offset, EntryLocalInterrupt, InterruptExtInt, FlagsConforming, IsaBusId, 0, AllLocalApics, 0);
        offset = WriteInterrupt(config32, offset, EntryLocalInterrupt, InterruptNmi, FlagsConforming, IsaBusId, 0, AllLocalApics, 1);

        // Configuration table header.
        BinaryPrimitives.WriteUInt32LittleEndian(config32, ConfigTableSignature);
        BinaryPrimitives.WriteUInt16LittleEndian(config32[4..], (ushort)offset);
        config32[6] = SpecRevision;
        Encoding.ASCII.GetBytes(OemId, config32.Slice(8, 8));
        Encoding.ASCII.GetBytes(ProductId, config32.Slice(16, 12));
        BinaryPrimitives.WriteUInt16LittleEndian(config32[34..], (ushort)EntryCount(config));
        BinaryPrimitives.WriteUInt32LittleEndian(config32[36..], (uint)config.LocalApicAddress);
        config32[7] = Checksum(config32[..offset]);

        // Floating pointer: physical address of the configuration table, length in paragraphs, no default config.
        var pointer = table.AsSpan(0, FloatingPointerSize);
        BinaryPrimitives.WriteUInt32LittleEndian(pointer, FloatingPointerSignature);
        BinaryPrimitives.WriteUInt32LittleEndian(pointer[4..], (uint)(address + FloatingPointerSize));
        pointer[8] = 1;
        pointer[9] = SpecRevision;
        pointer[10] = Checksum(pointer);
        return table;
    }

    /// <summary>The byte that makes <paramref name="bytes"/> (with that byte still zero) sum to 0 mod 256.</summary>
    public static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        int sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return (byte)(-sum & 0xFF);
    }

    private static int EntryCount(MpTableConfig config) =>
        config.CpuCount + 2 + 1 + IsaIrqCount + (PciIntxSwizzle.SlotCount * PciIntxSwizzle.PinCount) + 2;

    private static int WriteBus(Span<byte> table, int offset, byte id, string type)
    {
        var e = table.Slice(offset, ShortEntrySize);
        e[0] = EntryBus;
        e[1] = id;
        Encoding.ASCII.GetBytes(type, e[2..]);
        return offset + ShortEntrySize;
    }

    private static int WriteInterrupt(Span<byte> table, int offset, byte entryType, byte interruptType, ushort flags, byte sourceBus, byte sourceIrq, byte destination, byte destinationPin)
    {
        var e = table.Slice(offset, ShortEntrySize);
        e[0] = entryType;
        e[1] = interruptType;
        BinaryPrimitives.WriteUInt16LittleEndian(e[2..], flags);
        e[4] = sourceBus;
        e[5] = sourceIrq;
        e[6] = destination;
        e[7] = destinationPin;
        return offset + ShortEntrySize;
    }
}
