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
/// interrupts off: in 32-bit flat protected mode (<see cref="ProtectedModeImage"/>) it checks the magic, version and device ID, resets the
/// device, negotiates VERSION_1 and FLUSH (FEATURES_OK read back), sets up queue 0 with <see cref="QueueSize"/> entries,
/// sets DRIVER_OK, then: reads sector 0 and checks its first dword is <see cref="Sector0Marker"/> and that
/// InterruptStatus shows the used-buffer interrupt (and acknowledges it); writes sector <see cref="WrittenSector"/>
/// filled with <see cref="WritePattern"/>; flushes; prints <see cref="FlushedLine"/> on COM1; and, unless built to hold
/// there, reads the sector back and compares it. Built with an RNG, it then drives the second transport as virtio-rng
/// (device ID, VERSION_1, one queue, one 64-byte writable buffer) and checks the used length and that the bytes are not
/// all zero. Then it exits 0. Each failed check exits with its own status (below).
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
        QueueTooSmall = 0x16, BadSector0 = 0x17, NoInterrupt = 0x18, BadReadBack = 0x19, RequestFailed = 0x1A, Timeout = 0x1B,
        NotRng = 0x21, RngFeaturesRefused = 0x22, RngTimeout = 0x23, RngShort = 0x24, RngZero = 0x25;

    /// <summary>Bytes the guest asks the RNG for.</summary>
    public const uint RngBytes = 64;

    /// <summary>Guest RAM the guest needs.</summary>
    public const ulong MemorySize = 1024 * 1024;

    private const uint Mmio = (uint)X86MemoryMap.VirtioMmioBase;
    private const uint RngMmio = Mmio + (uint)VirtioMmioRegisters.WindowSize;
    internal const uint RngDescriptorTable = 0x3_5000;
    internal const uint RngAvailableRing = 0x3_5100;
    internal const uint RngUsedRing = 0x3_5200;
    private const uint RngBuffer = 0x3_6000;
    internal const uint DescriptorTable = 0x3_0000;
    internal const uint AvailableRing = 0x3_0100;
    internal const uint UsedRing = 0x3_0200;
    private const uint Header = 0x3_1000;
    private const uint WriteBuffer = 0x3_2000;
    private const uint ReadBuffer = 0x3_3000;
    private const uint StatusByte = 0x3_4000;
    private const int SectorDwords = VirtioBlockProtocol.SectorSize / 4;
    private const uint PollLimit = 0x1000_0000;

    private const ushort Com1Lsr = Guests.Com1 + 5;
    private const byte LsrTransmitterEmpty = 0x20;

    /// <summary>
    /// Builds the image; <paramref name="holdAfterFlush"/> makes it spin after printing <see cref="FlushedLine"/> (for a kill
    /// test); <paramref name="withRng"/> also drives virtio-rng on the second transport (run with <c>--disk IMG --rng</c>).
    /// </summary>
    public static byte[] Build(bool holdAfterFlush = false, bool withRng = false) =>
        ProtectedModeImage.Build(asm => Build32(asm, holdAfterFlush, withRng));

    private static void Build32(Assembler asm, bool holdAfterFlush, bool withRng)
    {
        var fail = asm.CreateLabel();

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

        DriveBlockRequests(asm, fail, Notify, ExpectMmioInterrupt, holdAfterFlush);
        if (withRng)
        {
            DriveRng(asm, fail);
        }

        asm.mov(bl, 0);

        // Exit with BL as the status.
        asm.Label(ref fail);
        ProtectedModeImage.EmitExitWithBl(asm);
    }

    /// <summary>
    /// The transport-independent part of the block run, on queue 0 set up at this guest's ring addresses: IN sector 0
    /// (checks <see cref="Sector0Marker"/>, then <paramref name="expectInterrupt"/> checks and acknowledges the used-buffer
    /// interrupt the transport's way), OUT <see cref="WrittenSector"/>, FLUSH, <see cref="FlushedLine"/> on COM1, then
    /// (unless <paramref name="holdAfterFlush"/>) IN the sector again and compare. <paramref name="notify"/> kicks queue 0.
    /// </summary>
    internal static void DriveBlockRequests(Assembler asm, Label fail, Action<Assembler> notify, Action<Assembler, Label> expectInterrupt, bool holdAfterFlush)
    {
        // Request 1: IN sector 0; the device raised the used-buffer interrupt for it.
        Request(asm, 1, VirtioBlockProtocol.RequestIn, 0, ReadBuffer, dataWritable: true, fail, notify);
        asm.mov(bl, BadSector0);
        asm.cmp(__dword_ptr[ReadBuffer], Sector0Marker);
        asm.jne(fail);
        expectInterrupt(asm, fail);

        // Request 2: OUT the pattern to the written sector; request 3: FLUSH.
        asm.mov(edi, WriteBuffer);
        asm.mov(eax, WritePattern);
        asm.mov(ecx, SectorDwords);
        asm.cld();
        asm.rep.stosd();
        Request(asm, 2, VirtioBlockProtocol.RequestOut, WrittenSector, WriteBuffer, dataWritable: false, fail, notify);
        Request(asm, 3, VirtioBlockProtocol.RequestFlush, 0, 0, dataWritable: false, fail, notify);
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
        Request(asm, 4, VirtioBlockProtocol.RequestIn, WrittenSector, ReadBuffer, dataWritable: true, fail, notify);
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
    }

    /// <summary>
    /// One virtio-rng request on queue 0 at this guest's RNG ring addresses, set up and running: a <see cref="RngBytes"/>
    /// writable buffer, <paramref name="notify"/>, a poll of the used index, then checks of the used length and that
    /// the bytes are not all zero.
    /// </summary>
    internal static void RngRequest(Assembler asm, Label fail, Action<Assembler> notify)
    {
        asm.mov(__dword_ptr[RngDescriptorTable + SplitRing.DescriptorAddressOffset], RngBuffer);
        asm.mov(__dword_ptr[RngDescriptorTable + SplitRing.DescriptorLengthOffset], RngBytes);
        asm.mov(__word_ptr[RngDescriptorTable + SplitRing.DescriptorFlagsOffset], SplitRing.DescriptorWrite);
        asm.mov(__word_ptr[RngAvailableRing + SplitRing.AvailableRingOffset], 0);
        asm.mov(__word_ptr[RngAvailableRing + SplitRing.AvailableIndexOffset], 1);
        notify(asm);

        var poll = asm.CreateLabel();
        var done = asm.CreateLabel();
        asm.mov(ecx, PollLimit);
        asm.Label(ref poll);
        asm.cmp(__word_ptr[RngUsedRing + SplitRing.UsedIndexOffset], 1);
        asm.je(done);
        asm.pause();
        asm.dec(ecx);
        asm.jnz(poll);
        asm.mov(bl, RngTimeout);
        asm.jmp(fail);
        asm.Label(ref done);

        // The used element's length (after its 4-byte id) is the bytes written: all of the buffer.
        asm.mov(bl, RngShort);
        asm.cmp(__dword_ptr[RngUsedRing + SplitRing.UsedRingOffset + 4], RngBytes);
        asm.jne(fail);
        asm.mov(esi, RngBuffer);
        asm.mov(ecx, RngBytes / 4);
        asm.xor(eax, eax);
        var or = asm.CreateLabel();
        asm.Label(ref or);
        asm.or(eax, __dword_ptr[esi]);
        asm.add(esi, 4);
        asm.dec(ecx);
        asm.jnz(or);
        asm.mov(bl, RngZero);
        asm.test(eax, eax);
        asm.jz(fail);
    }

    // virtio-mmio: InterruptStatus shows the used-buffer interrupt; acknowledge it.
    private static void ExpectMmioInterrupt(Assembler asm, Label fail)
    {
        asm.mov(eax, __dword_ptr[Mmio + VirtioMmioRegisters.InterruptStatus]);
        asm.mov(bl, NoInterrupt);
        asm.test(eax, VirtioMmioRegisters.InterruptUsedBuffer);
        asm.jz(fail);
        WriteRegister(asm, VirtioMmioRegisters.InterruptAck, VirtioMmioRegisters.InterruptUsedBuffer);
    }

    private static void Notify(Assembler asm) => WriteRegister(asm, VirtioMmioRegisters.QueueNotify, 0);

    // virtio-rng on the second transport: negotiate VERSION_1, one queue, one writable buffer, then check what came back.
    private static void DriveRng(Assembler asm, Label fail)
    {
        const uint AckDriver = VirtioStatus.Acknowledge | VirtioStatus.Driver;
        const uint FeaturesOk = AckDriver | VirtioStatus.FeaturesOk;
        asm.mov(bl, NotRng);
        asm.cmp(__dword_ptr[RngMmio + VirtioMmioRegisters.DeviceId], (uint)VirtioDeviceType.Entropy);
        asm.jne(fail);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.Status], 0u);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.Status], AckDriver);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.DriverFeaturesSel], 1u);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.DriverFeatures], (uint)(VirtioFeatures.Version1 >> 32));
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.Status], FeaturesOk);
        asm.mov(bl, RngFeaturesRefused);
        asm.test(__dword_ptr[RngMmio + VirtioMmioRegisters.Status], VirtioStatus.FeaturesOk);
        asm.jz(fail);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.QueueSel], 0u);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.QueueNum], (uint)QueueSize);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.QueueDescLow], RngDescriptorTable);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.QueueDriverLow], RngAvailableRing);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.QueueDeviceLow], RngUsedRing);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.QueueReady], 1u);
        asm.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.Status], FeaturesOk | VirtioStatus.DriverOk);

        RngRequest(asm, fail, a => a.mov(__dword_ptr[RngMmio + VirtioMmioRegisters.QueueNotify], 0u));
    }

    // One request as a chain from descriptor 0: header, then the data buffer (none for FLUSH), then the status byte;
    // published as available entry index-1, notified, and polled until the used index reaches it (status must be OK).
    private static void Request(Assembler asm, ushort index, uint type, uint sector, uint data, bool dataWritable, Label fail, Action<Assembler> notify)
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
        notify(asm);

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

    internal static void PutChar(Assembler asm, byte c)
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
