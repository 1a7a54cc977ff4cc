using System.Buffers.Binary;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.Machine.Layout;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A flat guest that drives the first virtio-mmio transport of the x86 map as a virtio-blk driver would, polling with
/// interrupts off: it switches to 32-bit flat protected mode, checks the magic, version and device ID, resets the
/// device, negotiates VERSION_1 and FLUSH (FEATURES_OK read back), sets up queue 0 with <see cref="QueueSize"/> entries,
/// sets DRIVER_OK, then: reads sector 0 and checks its first dword is <see cref="Sector0Marker"/> and that
/// InterruptStatus shows the used-buffer interrupt (and acknowledges it); writes sector <see cref="WrittenSector"/>
/// filled with <see cref="WritePattern"/>; flushes; prints <see cref="FlushedLine"/> on COM1; and, unless built to hold
/// there, reads the sector back, compares it and exits 0. Each failed check exits with its own status (below).
/// </summary>
public static class VirtioBlockGuest
{
    /// <summary>The dword the test puts at the start of sector 0.</summary>
    public const uint Sector0Marker = 0x5EC7_0000;

    /// <summary>The sector the guest writes.</summary>
    public const uint WrittenSector = 1;

    /// <summary>The dword the written sector is filled with.</summary>
    public const uint WritePattern = 0xD00D_F00D;

    /// <summary>What the guest prints on COM1 once its FLUSH completed with VIRTIO_BLK_S_OK.</summary>
    public const string FlushedLine = "virtio-blk flushed\n";

    /// <summary>Entries of the guest's queue.</summary>
    public const ushort QueueSize = 8;

    /// <summary>Exit statuses of the failed checks.</summary>
    public const byte BadMagic = 0x11, BadVersion = 0x12, NotBlock = 0x13, NoVersion1 = 0x14, FeaturesRefused = 0x15,
        QueueTooSmall = 0x16, BadSector0 = 0x17, NoInterrupt = 0x18, BadReadBack = 0x19, RequestFailed = 0x1A, Timeout = 0x1B;

    /// <summary>Guest RAM the guest needs.</summary>
    public const ulong MemorySize = 1024 * 1024;

    private const uint Mmio = (uint)X86MemoryMap.VirtioMmioBase;
    private const uint DescriptorTable = 0x3_0000;
    private const uint AvailableRing = 0x3_0100;
    private const uint UsedRing = 0x3_0200;
    private const uint Header = 0x3_1000;
    private const uint WriteBuffer = 0x3_2000;
    private const uint ReadBuffer = 0x3_3000;
    private const uint StatusByte = 0x3_4000;
    private const uint Stack32 = 0x7000;
    private const int SectorDwords = VirtioBlockProtocol.SectorSize / 4;
    private const uint PollLimit = 0x1000_0000;

    private const int Code32Offset = 0x100;
    private const int GdtOffset = 0xC00;
    private const int GdtrOffset = 0xC30;
    private const int ImageSize = 0xD00;
    private const ushort Code32Selector = 0x08;
    private const ushort DataFlatSelector = 0x10;

    // 32-bit code with base 0x10000 (the image, so labels are image offsets), flat 4 GiB data.
    private const ulong Code32Descriptor = 0x00CF_9A01_0000_FFFF;
    private const ulong DataFlatDescriptor = 0x00CF_9200_0000_FFFF;
    private const uint Cr0ProtectionEnable = 0x1;
    private const ushort Com1Lsr = Guests.Com1 + 5;
    private const byte LsrTransmitterEmpty = 0x20;

    /// <summary>Builds the image; <paramref name="holdAfterFlush"/> makes it spin after printing <see cref="FlushedLine"/> (for a kill test).</summary>
    public static byte[] Build(bool holdAfterFlush = false)
    {
        byte[] image = new byte[ImageSize];
        byte[] code16 = GuestAssembler.Assemble16(asm =>
        {
            asm.cli();
            asm.lgdt(__[GdtrOffset]);
            asm.mov(eax, cr0);
            asm.or(eax, Cr0ProtectionEnable);
            asm.mov(cr0, eax);
            asm.jmp(Code32Selector, Code32Offset);
        });
        code16.CopyTo(image, 0);
        byte[] code32 = GuestAssembler.AssembleWithLabels(32, Code32Offset, (asm, _) => Build32(asm, holdAfterFlush), out _);
        if (code32.Length > GdtOffset - Code32Offset)
        {
            throw new InvalidOperationException($"32-bit part is {code32.Length} bytes, too large");
        }

        code32.CopyTo(image, Code32Offset);
        var span = image.AsSpan();
        ulong[] gdt = [0, Code32Descriptor, DataFlatDescriptor];
        for (int i = 0; i < gdt.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[(GdtOffset + (i * 8))..], gdt[i]);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(span[GdtrOffset..], (ushort)((gdt.Length * 8) - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(span[(GdtrOffset + 2)..], (uint)(GuestAssembler.LoadAddress + GdtOffset));
        return image;
    }

    private static Label[] Build32(Assembler asm, bool holdAfterFlush)
    {
        var fail = asm.CreateLabel();
        asm.mov(ax, DataFlatSelector);
        asm.mov(ds, ax);
        asm.mov(es, ax);
        asm.mov(ss, ax);
        asm.mov(esp, Stack32);

        ExpectRegister(asm, VirtioMmioRegisters.MagicValue, VirtioMmioRegisters.Magic, BadMagic, fail);
        ExpectRegister(asm, VirtioMmioRegisters.Version, VirtioMmioRegisters.Version2, BadVersion, fail);
        ExpectRegister(asm, VirtioMmioRegisters.DeviceId, (uint)VirtioDeviceType.Block, NotBlock, fail);

        // §3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (read back), queues, DRIVER_OK.
        const uint Ack = VirtioStatus.Acknowledge, AckDriver = VirtioStatus.Acknowledge | VirtioStatus.Driver;
        const uint FeaturesOk = AckDriver | VirtioStatus.FeaturesOk;
        WriteRegister(asm, VirtioMmioRegisters.Status, 0);
        WriteRegister(asm, VirtioMmioRegisters.Status, Ack);
        WriteRegister(asm, VirtioMmioRegisters.Status, AckDriver);
        WriteRegister(asm, VirtioMmioRegisters.DeviceFeaturesSel, 1);
        asm.mov(eax, __dword_ptr[Mmio + VirtioMmioRegisters.DeviceFeatures]);
        asm.mov(bl, NoVersion1);
        asm.test(eax, (uint)(VirtioFeatures.Version1 >> 32));
        asm.jz(fail);
        WriteRegister(asm, VirtioMmioRegisters.DriverFeaturesSel, 1);
        WriteRegister(asm, VirtioMmioRegisters.DriverFeatures, (uint)(VirtioFeatures.Version1 >> 32));
        WriteRegister(asm, VirtioMmioRegisters.DriverFeaturesSel, 0);
        WriteRegister(asm, VirtioMmioRegisters.DriverFeatures, (uint)VirtioBlockProtocol.FeatureFlush);
        WriteRegister(asm, VirtioMmioRegisters.Status, FeaturesOk);
        asm.mov(eax, __dword_ptr[Mmio + VirtioMmioRegisters.Status]);
        asm.mov(bl, FeaturesRefused);
        asm.test(eax, VirtioStatus.FeaturesOk);
        asm.jz(fail);

        WriteRegister(asm, VirtioMmioRegisters.QueueSel, 0);
        asm.mov(eax, __dword_ptr[Mmio + VirtioMmioRegisters.QueueNumMax]);
        asm.mov(bl, QueueTooSmall);
        asm.cmp(eax, QueueSize);
        asm.jb(fail);
        WriteRegister(asm, VirtioMmioRegisters.QueueNum, QueueSize);
        WriteRegister(asm, VirtioMmioRegisters.QueueDescLow, DescriptorTable);
        WriteRegister(asm, VirtioMmioRegisters.QueueDescHigh, 0);
        WriteRegister(asm, VirtioMmioRegisters.QueueDriverLow, AvailableRing);
        WriteRegister(asm, VirtioMmioRegisters.QueueDriverHigh, 0);
        WriteRegister(asm, VirtioMmioRegisters.QueueDeviceLow, UsedRing);
        WriteRegister(asm, VirtioMmioRegisters.QueueDeviceHigh, 0);
        WriteRegister(asm, VirtioMmioRegisters.QueueReady, 1);
        WriteRegister(asm, VirtioMmioRegisters.Status, FeaturesOk | VirtioStatus.DriverOk);

        // Request 1: IN sector 0; the device raised the used-buffer interrupt for it.
        Request(asm, 1, VirtioBlockProtocol.RequestIn, 0, ReadBuffer, dataWritable: true, fail);
        asm.mov(bl, BadSector0);
        asm.cmp(__dword_ptr[ReadBuffer], Sector0Marker);
        asm.jne(fail);
        asm.mov(eax, __dword_ptr[Mmio + VirtioMmioRegisters.InterruptStatus]);
        asm.mov(bl, NoInterrupt);
        asm.test(eax, VirtioMmioRegisters.InterruptUsedBuffer);
        asm.jz(fail);
        WriteRegister(asm, VirtioMmioRegisters.InterruptAck, VirtioMmioRegisters.InterruptUsedBuffer);

        // Request 2: OUT the pattern to the written sector; request 3: FLUSH.
        asm.mov(edi, WriteBuffer);
        asm.mov(eax, WritePattern);
        asm.mov(ecx, SectorDwords);
        asm.cld();
        asm.rep.stosd();
        Request(asm, 2, VirtioBlockProtocol.RequestOut, WrittenSector, WriteBuffer, dataWritable: false, fail);
        Request(asm, 3, VirtioBlockProtocol.RequestFlush, 0, 0, dataWritable: false, fail);
        foreach (char c in FlushedLine)
        {
            PutChar(asm, (byte)c);
        }

        if (holdAfterFlush)
        {
            var spin = asm.CreateLabel();
            asm.Label(ref spin);
            asm.pause();
            asm.jmp(spin);
        }

        // Request 4: IN the written sector into the zeroed read buffer and compare.
        asm.mov(edi, ReadBuffer);
        asm.xor(eax, eax);
        asm.mov(ecx, SectorDwords);
        asm.rep.stosd();
        Request(asm, 4, VirtioBlockProtocol.RequestIn, WrittenSector, ReadBuffer, dataWritable: true, fail);
        asm.mov(esi, ReadBuffer);
        asm.mov(ecx, SectorDwords);
        var compare = asm.CreateLabel();
        asm.Label(ref compare);
        asm.mov(bl, BadReadBack);
        asm.cmp(__dword_ptr[esi], WritePattern);
        asm.jne(fail);
        asm.add(esi, 4);
        asm.dec(ecx);
        asm.jnz(compare);
        asm.mov(bl, 0);

        // Exit with BL as the status.
        asm.Label(ref fail);
        asm.mov(al, bl);
        asm.@out((byte)GuestAssembler.ExitPort, al);
        var halt = asm.CreateLabel();
        asm.Label(ref halt);
        asm.hlt();
        asm.jmp(halt);
        return [];
    }

    // One request as a chain from descriptor 0: header, then the data buffer (none for FLUSH), then the status byte;
    // published as available entry index-1, notified, and polled until the used index reaches it (status must be OK).
    private static void Request(Assembler asm, ushort index, uint type, uint sector, uint data, bool dataWritable, Label fail)
    {
        asm.mov(__dword_ptr[Header + VirtioBlockProtocol.HeaderTypeOffset], type);
        asm.mov(__dword_ptr[Header + 4], 0u);
        asm.mov(__dword_ptr[Header + VirtioBlockProtocol.HeaderSectorOffset], sector);
        asm.mov(__dword_ptr[Header + VirtioBlockProtocol.HeaderSectorOffset + 4], 0u);
        asm.mov(__byte_ptr[StatusByte], 0xFF);
        int slot = 0;
        Descriptor(asm, slot++, Header, VirtioBlockProtocol.HeaderBytes, SplitRing.DescriptorNext);
        if (data != 0)
        {
            Descriptor(asm, slot++, data, VirtioBlockProtocol.SectorSize, (ushort)(SplitRing.DescriptorNext | (dataWritable ? SplitRing.DescriptorWrite : 0)));
        }

        Descriptor(asm, slot, StatusByte, 1, SplitRing.DescriptorWrite);
        uint entry = AvailableRing + SplitRing.AvailableRingOffset + (uint)(((index - 1) % QueueSize) * SplitRing.AvailableEntrySize);
        asm.mov(__word_ptr[entry], 0);
        asm.mov(__word_ptr[AvailableRing + SplitRing.AvailableIndexOffset], index);
        WriteRegister(asm, VirtioMmioRegisters.QueueNotify, 0);

        var poll = asm.CreateLabel();
        var done = asm.CreateLabel();
        asm.mov(ecx, PollLimit);
        asm.Label(ref poll);
        asm.movzx(eax, __word_ptr[UsedRing + SplitRing.UsedIndexOffset]);
        asm.cmp(eax, index);
        asm.je(done);
        asm.pause();
        asm.dec(ecx);
        asm.jnz(poll);
        asm.mov(bl, Timeout);
        asm.jmp(fail);
        asm.Label(ref done);
        asm.mov(bl, RequestFailed);
        asm.cmp(__byte_ptr[StatusByte], VirtioBlockProtocol.StatusOk);
        asm.jne(fail);
    }

    private static void Descriptor(Assembler asm, int slot, uint address, uint length, ushort flags)
    {
        uint at = DescriptorTable + (uint)(slot * SplitRing.DescriptorSize);
        asm.mov(__dword_ptr[at + SplitRing.DescriptorAddressOffset], address);
        asm.mov(__dword_ptr[at + SplitRing.DescriptorAddressOffset + 4], 0u);
        asm.mov(__dword_ptr[at + SplitRing.DescriptorLengthOffset], length);
        asm.mov(__word_ptr[at + SplitRing.DescriptorFlagsOffset], flags);
        asm.mov(__word_ptr[at + SplitRing.DescriptorNextOffset], (ushort)(slot + 1));
    }

    private static void ExpectRegister(Assembler asm, int offset, uint expected, byte failure, Label fail)
    {
        asm.mov(bl, failure);
        asm.cmp(__dword_ptr[Mmio + (uint)offset], expected);
        asm.jne(fail);
    }

    private static void WriteRegister(Assembler asm, int offset, uint value) => asm.mov(__dword_ptr[Mmio + (uint)offset], value);

    private static void PutChar(Assembler asm, byte c)
    {
        var wait = asm.CreateLabel();
        asm.mov(dx, Com1Lsr);
        asm.Label(ref wait);
        asm.@in(al, dx);
        asm.test(al, LsrTransmitterEmpty);
        asm.jz(wait);
        asm.mov(dx, Guests.Com1);
        asm.mov(al, c);
        asm.@out(dx, al);
    }
}
