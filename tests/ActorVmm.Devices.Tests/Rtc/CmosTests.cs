using ActorVmm.Devices.Rtc;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;
using ActorVmm.TestSupport;
using FsCheck.Xunit;
using static ActorVmm.Devices.Rtc.Mc146818Rtc;

namespace ActorVmm.Devices.Tests.Rtc;

public sealed class CmosTests : RtcTestBase
{
    private const ulong MiB = 1024 * 1024;
    private const ulong GiB = 1024 * MiB;
    private const ulong SixtyFourKiB = 64 * 1024;
    private const byte Pattern = 0xA5;
    private const int FreeRamIndex = 0x40;
    private const int LastCmosIndex = CmosSize - 1;
    private const byte OutOfRangeIndexWithNmiBit = 0xFF;
    private const int ByteShift = 8;

    public CmosTests()
        : base(new CmosMemorySize(512 * MiB, 0))
    {
    }

    private int Word(int lowIndex) => ReadCmos(lowIndex) | (ReadCmos(lowIndex + 1) << ByteShift);

    [Fact]
    public void Memory_fields_report_512MiB_as_firmware_and_Linux_read_them()
    {
        const int ExtendedCapKiB = 0xFFFF;
        Assert.Equal(BaseMemoryKiB, Word(BaseMemoryLowIndex));
        Assert.Equal(ExtendedCapKiB, Word(ExtendedMemoryLowIndex));
        Assert.Equal(ExtendedCapKiB, Word(ExtendedMemoryCopyLowIndex));
        Assert.Equal((int)((512 * MiB - 16 * MiB) / SixtyFourKiB), Word(MemoryAbove16MiBLowIndex));
        Assert.Equal(0, ReadCmos(MemoryAbove4GiBIndex));
    }

    [Fact]
    public void Memory_fields_for_RAM_split_around_the_x86_hole_report_the_part_above_4GiB()
    {
        const ulong RamSize = 8 * GiB;
        var rtc = new RtcDevice(Time, Irq, CmosMemorySize.FromRamSlots(MemoryMap.X86.RamSlots(RamSize)));
        var bus = new DeviceBus(rtc);
        int Byte(int index)
        {
            bus.Out8(IndexPort, (byte)index);
            return bus.In8(DataPort);
        }

        ulong above4G = (RamSize - X86MemoryMap.MmioHoleStart) / SixtyFourKiB;
        Assert.Equal((int)(byte)above4G, Byte(MemoryAbove4GiBIndex));
        Assert.Equal((int)(byte)(above4G >> ByteShift), Byte(MemoryAbove4GiBIndex + 1));
        Assert.Equal((int)(byte)(above4G >> (2 * ByteShift)), Byte(MemoryAbove4GiBIndex + 2));
        int above16 = Byte(MemoryAbove16MiBLowIndex) | (Byte(MemoryAbove16MiBLowIndex + 1) << ByteShift);
        Assert.Equal((int)((X86MemoryMap.MmioHoleStart - 16 * MiB) / SixtyFourKiB), above16);
    }

    [Fact]
    public void Memory_size_from_slots_splits_a_slot_that_straddles_4GiB()
    {
        const ulong SlotStart = 3 * GiB;
        const ulong SlotSize = 2 * GiB;
        const ulong PartBelow = GiB;

        var size = CmosMemorySize.FromRamSlots([new RamSlot(0, SlotStart, SlotSize, 0)]);

        Assert.Equal(new CmosMemorySize(PartBelow, SlotSize - PartBelow), size);
    }

    [Fact]
    public void Small_RAM_reports_extended_memory_in_KiB_and_nothing_above_16MiB()
    {
        const ulong RamSize = 8 * MiB;
        var rtc = new Mc146818Rtc(Time, Irq, new CmosMemorySize(RamSize, 0));
        byte Byte(int index)
        {
            rtc.Write(IndexOffset, (byte)index);
            return rtc.Read(DataOffset);
        }

        Assert.Equal((int)((RamSize - MiB) / 1024), Byte(ExtendedMemoryLowIndex) | (Byte(ExtendedMemoryLowIndex + 1) << ByteShift));
        Assert.Equal(0, Byte(MemoryAbove16MiBLowIndex));
    }

    [Fact]
    public void Checksum_covers_bytes_0x10_to_0x2D()
    {
        int sum = 0;
        for (int i = ChecksumFirstIndex; i <= ChecksumLastIndex; i++)
        {
            sum += ReadCmos(i);
        }

        Assert.Equal(sum, (ReadCmos(ChecksumHighIndex) << ByteShift) | ReadCmos(ChecksumHighIndex + 1));
    }

    [Fact]
    public void Free_CMOS_RAM_keeps_what_the_guest_writes()
    {
        WriteCmos(FreeRamIndex, Pattern);

        Assert.Equal(Pattern, ReadCmos(FreeRamIndex));
    }

    [Fact]
    public void Index_bit_7_masks_NMI_and_is_not_part_of_the_index()
    {
        WriteCmos(OutOfRangeIndexWithNmiBit, Pattern);

        Assert.True(Rtc.Inspect(r => r.NmiDisabled));
        Assert.Equal(LastCmosIndex, Rtc.Inspect(r => r.SelectedIndex));
        Assert.Equal(Pattern, ReadCmos(LastCmosIndex));
        Assert.False(Rtc.Inspect(r => r.NmiDisabled));
    }

    [Fact]
    public void Writes_to_read_only_registers_C_and_D_are_dropped()
    {
        WriteCmos(RegisterCIndex, Pattern);
        WriteCmos(RegisterDIndex, 0);

        Assert.Equal(0, ReadCmos(RegisterCIndex));
        Assert.Equal(RegisterDVrtBit, ReadCmos(RegisterDIndex));
    }

    [Fact]
    public void Guest_cannot_set_UIP_by_writing_register_A()
    {
        WriteCmos(RegisterAIndex, RegisterAUipBit | RegisterADefault);

        Assert.Equal(RegisterADefault, ReadCmos(RegisterAIndex));
    }

    [Fact]
    public void Index_port_reads_as_an_empty_bus()
    {
        Assert.Equal(ByteLanes.EmptyBus, Bus.In8(IndexPort));
    }

    [Fact]
    public void Word_write_to_the_index_port_selects_and_writes_in_one_access()
    {
        const int WordSize = 2;

        Bus.Write(TrapBus.Pio, IndexPort, WordSize, (ulong)(FreeRamIndex | (Pattern << ByteShift)));

        Assert.Equal(DispatchOutcome.Handled, Bus.LastOutcome);
        Assert.Equal(Pattern, ReadCmos(FreeRamIndex));
    }

    [Fact]
    public void Same_code_serves_the_arm64_MMIO_address()
    {
        const int ByteSize = 1;
        var rtc = new RtcDevice(Time, Irq, CmosMemorySize.None, TrapBus.Mmio, Arm64MemoryMap.RtcBase);
        var bus = new DeviceBus(rtc);

        bus.Write(TrapBus.Mmio, Arm64MemoryMap.RtcBase + IndexOffset, ByteSize, SecondsIndex);
        ulong seconds = bus.Read(TrapBus.Mmio, Arm64MemoryMap.RtcBase + DataOffset, ByteSize);

        Assert.Equal(RtcTimeCodec.ToBcd(Second), seconds);
    }

    [Property]
    public void Any_sequence_of_guest_accesses_never_throws(byte[] indices, byte[] values)
    {
        for (int i = 0; i < indices.Length; i++)
        {
            Bus.Out8(IndexPort, indices[i]);
            if (i < values.Length)
            {
                Bus.Out8(DataPort, values[i]);
            }

            Bus.In8(DataPort);
            Assert.NotEqual(Machine.Traps.DispatchOutcome.Faulted, Bus.LastOutcome);
        }
    }
}
