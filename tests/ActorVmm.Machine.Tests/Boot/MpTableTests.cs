using System.Buffers.Binary;
using System.Text;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Machine.Tests.Boot;

public sealed class MpTableTests
{
    private const int Cpus = 3;
    private static readonly MpTableConfig Config = new(Cpus, X86MemoryMap.LocalApicBase, X86MemoryMap.IoApicBase);

    [Fact]
    public void Floating_pointer_and_configuration_table_have_their_signatures_lengths_and_zero_checksums()
    {
        byte[] table = MpTable.Build(Config);
        var pointer = table.AsSpan(0, MpTable.FloatingPointerSize);
        var config = Configuration(table);

        Assert.Equal(MpTable.FloatingPointerSignature, BinaryPrimitives.ReadUInt32LittleEndian(pointer));
        Assert.Equal((uint)(MpTable.DefaultAddress + MpTable.FloatingPointerSize), BinaryPrimitives.ReadUInt32LittleEndian(pointer[4..]));
        Assert.Equal(1, pointer[8]);
        Assert.Equal(MpTable.SpecRevision, pointer[9]);
        Assert.Equal(0, Sum(pointer));
        Assert.Equal(MpTable.ConfigTableSignature, BinaryPrimitives.ReadUInt32LittleEndian(config));
        Assert.Equal(config.Length, BinaryPrimitives.ReadUInt16LittleEndian(config[4..]));
        Assert.Equal(0, Sum(config));
        Assert.Equal(MpTable.OemId, Encoding.ASCII.GetString(config.Slice(8, 8)));
        Assert.Equal((uint)X86MemoryMap.LocalApicBase, BinaryPrimitives.ReadUInt32LittleEndian(config[36..]));
        Assert.Equal(MpTable.Size(Config), table.Length);
        Assert.True(table.Length <= (int)MpTable.MaxSize);
    }

    [Fact]
    public void Every_vcpu_is_an_enabled_processor_and_only_vcpu_0_is_the_boot_processor()
    {
        var processors = Entries(MpTable.Build(Config)).Where(e => e[0] == MpTable.EntryProcessor).ToList();

        Assert.Equal(Cpus, processors.Count);
        Assert.Equal(Enumerable.Range(0, Cpus).Select(i => (byte)i), processors.Select(p => p[1]));
        Assert.All(processors, p => Assert.Equal(MpTable.LocalApicVersion, p[2]));
        Assert.Equal(MpTable.CpuEnabled | MpTable.CpuBootProcessor, processors[0][3]);
        Assert.All(processors.Skip(1), p => Assert.Equal(MpTable.CpuEnabled, p[3]));
    }

    [Fact]
    public void The_IOAPIC_follows_the_cpus_and_takes_ISA_IRQs_on_their_own_pins()
    {
        var entries = Entries(MpTable.Build(Config));
        var ioApic = Assert.Single(entries, e => e[0] == MpTable.EntryIoApic);
        var isa = entries.Where(e => e[0] == MpTable.EntryIoInterrupt && e[4] == MpTable.IsaBusId).ToList();

        Assert.Equal(Cpus, ioApic[1]);
        Assert.Equal(MpTable.IoApicEnabled, ioApic[3]);
        Assert.Equal((uint)X86MemoryMap.IoApicBase, BinaryPrimitives.ReadUInt32LittleEndian(ioApic.AsSpan(4)));
        Assert.Equal(MpTable.IsaIrqCount, isa.Count);
        Assert.All(isa, e =>
        {
            Assert.Equal(MpTable.InterruptInt, e[1]);
            Assert.Equal(MpTable.FlagsConforming, BinaryPrimitives.ReadUInt16LittleEndian(e.AsSpan(2)));
            Assert.Equal(e[5], e[7]);
            Assert.Equal(Cpus, e[6]);
        });
    }

    [Fact]
    public void PCI_INTx_of_every_slot_is_routed_level_active_low_by_the_platform_swizzle()
    {
        var pci = Entries(MpTable.Build(Config)).Where(e => e[0] == MpTable.EntryIoInterrupt && e[4] == MpTable.PciBusId).ToList();

        Assert.Equal(PciIntxSwizzle.SlotCount * PciIntxSwizzle.PinCount, pci.Count);
        Assert.All(pci, e =>
        {
            int slot = e[5] >> 2;
            int pin = (e[5] & 0x3) + PciIntxSwizzle.IntA;
            Assert.Equal(MpTable.FlagsLevel | MpTable.FlagsActiveLow, BinaryPrimitives.ReadUInt16LittleEndian(e.AsSpan(2)));
            Assert.Equal(PciIntxSwizzle.Gsi(slot, pin), e[7]);
        });
        Assert.Equal(PciIntxSwizzle.FirstGsi + 2, pci.Single(e => e[5] == ((1 << 2) | 1))[7]);
    }

    [Fact]
    public void LINT0_is_ExtINT_and_LINT1_is_NMI_on_every_local_APIC()
    {
        var local = Entries(MpTable.Build(Config)).Where(e => e[0] == MpTable.EntryLocalInterrupt).ToList();

        Assert.Equal([(MpTable.InterruptExtInt, 0), (MpTable.InterruptNmi, 1)], local.Select(e => (e[1], (int)e[7])));
        Assert.All(local, e => Assert.Equal(MpTable.AllLocalApics, e[6]));
    }

    [Fact]
    public void The_swizzle_rotates_pins_by_slot()
    {
        Assert.Equal(PciIntxSwizzle.FirstGsi, PciIntxSwizzle.Gsi(0, PciIntxSwizzle.IntA));
        Assert.Equal(PciIntxSwizzle.FirstGsi + 1, PciIntxSwizzle.Gsi(1, PciIntxSwizzle.IntA));
        Assert.Equal(PciIntxSwizzle.FirstGsi, PciIntxSwizzle.Gsi(3, PciIntxSwizzle.IntA + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PciIntxSwizzle.Gsi(PciIntxSwizzle.SlotCount, PciIntxSwizzle.IntA));
        Assert.Throws<ArgumentOutOfRangeException>(() => PciIntxSwizzle.Gsi(0, 0));
    }

    [Fact]
    public void No_cpus_or_a_misaligned_address_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MpTable.Build(Config with { CpuCount = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => MpTable.Build(Config, MpTable.DefaultAddress + 1));
    }

    private static Span<byte> Configuration(byte[] table)
    {
        var rest = table.AsSpan(MpTable.FloatingPointerSize);
        return rest[..BinaryPrimitives.ReadUInt16LittleEndian(rest[4..])];
    }

    private static List<byte[]> Entries(byte[] table)
    {
        var config = Configuration(table);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(config[34..]);
        var entries = new List<byte[]>();
        int offset = MpTable.ConfigHeaderSize;
        for (int i = 0; i < count; i++)
        {
            int size = config[offset] == MpTable.EntryProcessor ? MpTable.ProcessorEntrySize : MpTable.ShortEntrySize;
            entries.Add(config.Slice(offset, size).ToArray());
            offset += size;
        }

        Assert.Equal(config.Length, offset);
        return entries;
    }

    private static int Sum(ReadOnlySpan<byte> bytes)
    {
        int sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return sum & 0xFF;
    }
}
