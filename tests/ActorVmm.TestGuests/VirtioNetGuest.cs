using System.Buffers.Binary;
using System.Net;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.Machine.Layout;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A flat guest that asks the host for its MAC address over virtio-net on the first virtio-mmio transport, polling with
/// interrupts off: in 32-bit flat protected mode it checks the device ID, negotiates VERSION_1 + MAC + STATUS (FEATURES_OK
/// read back), checks the MAC in the configuration space and the link-up status, sets up receiveq (one 2 KiB buffer) and
/// transmitq, sets DRIVER_OK, sends an ARP request for the host's address, and waits for the ARP reply: every received
/// frame is compared with the reply the test expects (sender: the host tap's MAC and address; target: the guest's), and a
/// frame that is something else (IPv6 chatter) gives the buffer back and waits for the next. It exits 0 on the reply and
/// with its own status on each failed check.
/// </summary>
public static class VirtioNetGuest
{
    /// <summary>Exit statuses of the failed checks.</summary>
    public const byte NotNetwork = 0x41, FeaturesRefused = 0x42, BadMac = 0x43, LinkDown = 0x44, TransmitTimeout = 0x45,
        ReceiveTimeout = 0x46, NoReply = 0x47;

    /// <summary>Guest RAM the guest needs.</summary>
    public const ulong MemorySize = 1024 * 1024;

    /// <summary>Frames the guest looks at before giving up on the reply.</summary>
    public const int MaxFrames = 64;

    private const uint Mmio = (uint)X86MemoryMap.VirtioMmioBase;
    private const ushort QueueSize = 8;
    private const uint ReceiveTable = 0x3_0000, ReceiveAvailable = 0x3_0100, ReceiveUsed = 0x3_0200;
    private const uint TransmitTable = 0x3_1000, TransmitAvailable = 0x3_1100, TransmitUsed = 0x3_1200;
    private const uint ReceiveBuffer = 0x3_2000, TransmitBuffer = 0x3_4000, ExpectedReply = 0x3_5000, ExpectedMac = 0x3_5100;
    private const uint ReceiveBufferBytes = 2048;
    private const uint PollLimit = 0x4000_0000;

    /// <summary>Builds the guest for a card with <paramref name="guestMac"/> at <paramref name="guestIp"/> asking for <paramref name="hostIp"/>, whose tap has <paramref name="hostMac"/>.</summary>
    public static byte[] Build(MacAddress guestMac, IPAddress guestIp, IPAddress hostIp, MacAddress hostMac)
    {
        var guest = new byte[MacAddress.Length];
        var host = new byte[MacAddress.Length];
        guestMac.CopyTo(guest);
        hostMac.CopyTo(host);
        byte[] request = ArpFrames.Request(guest, guestIp, hostIp);
        byte[] reply = ExpectedReplyFrame(guest, guestIp, hostIp, host);
        return ProtectedModeImage.Build(asm => Build32(asm, guest, request, reply));
    }

    /// <summary>The 42 bytes of the kernel's answer: to the guest, from the tap, "hostIp is at hostMac".</summary>
    public static byte[] ExpectedReplyFrame(ReadOnlySpan<byte> guestMac, IPAddress guestIp, IPAddress hostIp, ReadOnlySpan<byte> hostMac)
    {
        ArgumentNullException.ThrowIfNull(guestIp);
        ArgumentNullException.ThrowIfNull(hostIp);
        byte[] frame = ArpFrames.Request(hostMac, hostIp, guestIp);
        guestMac.CopyTo(frame);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(ArpFrames.OperationOffset), ArpFrames.OperationReply);
        guestMac.CopyTo(frame.AsSpan(ArpFrames.TargetMacOffset));
        return frame;
    }

    private static void Build32(Assembler asm, byte[] guestMac, byte[] request, byte[] reply)
    {
        var fail = asm.CreateLabel();
        asm.mov(bl, NotNetwork);
        asm.cmp(__dword_ptr[Mmio + VirtioMmioRegisters.DeviceId], (uint)VirtioDeviceType.Network);
        asm.jne(fail);

        const uint AckDriver = VirtioStatus.Acknowledge | VirtioStatus.Driver;
        const uint FeaturesOk = AckDriver | VirtioStatus.FeaturesOk;
        Write(asm, VirtioMmioRegisters.Status, 0);
        Write(asm, VirtioMmioRegisters.Status, AckDriver);
        Write(asm, VirtioMmioRegisters.DriverFeaturesSel, 1);
        Write(asm, VirtioMmioRegisters.DriverFeatures, (uint)(VirtioFeatures.Version1 >> 32));
        Write(asm, VirtioMmioRegisters.DriverFeaturesSel, 0);
        Write(asm, VirtioMmioRegisters.DriverFeatures, (uint)(VirtioNetProtocol.FeatureMac | VirtioNetProtocol.FeatureStatus));
        Write(asm, VirtioMmioRegisters.Status, FeaturesOk);
        asm.mov(bl, FeaturesRefused);
        asm.test(__dword_ptr[Mmio + VirtioMmioRegisters.Status], VirtioStatus.FeaturesOk);
        asm.jz(fail);

        // The MAC in the configuration space, byte by byte, as Linux's virtio_cread_bytes reads it; then the link.
        Store(asm, ExpectedMac, guestMac);
        asm.mov(bl, BadMac);
        for (int i = 0; i < MacAddress.Length; i++)
        {
            asm.mov(al, __byte_ptr[Mmio + VirtioMmioRegisters.Config + VirtioNetProtocol.ConfigMac + (uint)i]);
            asm.cmp(al, __byte_ptr[ExpectedMac + (uint)i]);
            asm.jne(fail);
        }

        asm.mov(bl, LinkDown);
        asm.test(__word_ptr[Mmio + VirtioMmioRegisters.Config + VirtioNetProtocol.ConfigStatus], VirtioNetProtocol.StatusLinkUp);
        asm.jz(fail);

        SetUpQueue(asm, VirtioNetProtocol.ReceiveQueue, ReceiveTable, ReceiveAvailable, ReceiveUsed);
        SetUpQueue(asm, VirtioNetProtocol.TransmitQueue, TransmitTable, TransmitAvailable, TransmitUsed);
        Write(asm, VirtioMmioRegisters.Status, FeaturesOk | VirtioStatus.DriverOk);

        // One receive buffer (descriptor 0, device-writable), given before anything is sent.
        asm.mov(__dword_ptr[ReceiveTable + SplitRing.DescriptorAddressOffset], ReceiveBuffer);
        asm.mov(__dword_ptr[ReceiveTable + SplitRing.DescriptorLengthOffset], ReceiveBufferBytes);
        asm.mov(__word_ptr[ReceiveTable + SplitRing.DescriptorFlagsOffset], SplitRing.DescriptorWrite);
        asm.mov(__word_ptr[ReceiveAvailable + SplitRing.AvailableRingOffset], 0);
        asm.mov(__word_ptr[ReceiveAvailable + SplitRing.AvailableIndexOffset], 1);
        Write(asm, VirtioMmioRegisters.QueueNotify, VirtioNetProtocol.ReceiveQueue);

        // The ARP request behind a zero virtio_net_hdr (the RAM is zero), as one readable descriptor.
        Store(asm, TransmitBuffer + VirtioNetProtocol.HeaderBytes, request);
        Store(asm, ExpectedReply, reply);
        asm.mov(__dword_ptr[TransmitTable + SplitRing.DescriptorAddressOffset], TransmitBuffer);
        asm.mov(__dword_ptr[TransmitTable + SplitRing.DescriptorLengthOffset], (uint)(VirtioNetProtocol.HeaderBytes + request.Length));
        asm.mov(__word_ptr[TransmitAvailable + SplitRing.AvailableRingOffset], 0);
        asm.mov(__word_ptr[TransmitAvailable + SplitRing.AvailableIndexOffset], 1);
        Write(asm, VirtioMmioRegisters.QueueNotify, VirtioNetProtocol.TransmitQueue);
        asm.mov(edi, 1);
        WaitForUsed(asm, TransmitUsed, TransmitTimeout, fail);

        // Frames until the reply: edi = used entries seen.
        var nextFrame = asm.CreateLabel();
        var done = asm.CreateLabel();
        asm.mov(edi, 0);
        asm.Label(ref nextFrame);
        asm.inc(edi);
        asm.mov(bl, NoReply);
        asm.cmp(edi, MaxFrames);
        asm.ja(fail);
        WaitForUsed(asm, ReceiveUsed, ReceiveTimeout, fail);
        asm.push(edi);
        asm.mov(esi, ReceiveBuffer + VirtioNetProtocol.HeaderBytes);
        asm.mov(edi, ExpectedReply);
        asm.mov(ecx, (uint)reply.Length);
        asm.cld();
        asm.repe.cmpsb();
        asm.pop(edi);
        asm.je(done);

        // Something else (IPv6 chatter): hand the buffer back as the next available entry and wait again.
        asm.mov(eax, edi);
        asm.and(eax, QueueSize - 1);
        asm.mov(__word_ptr[(eax * 2) + (ReceiveAvailable + SplitRing.AvailableRingOffset)], 0);
        asm.mov(eax, edi);
        asm.inc(eax);
        asm.mov(__word_ptr[ReceiveAvailable + SplitRing.AvailableIndexOffset], ax);
        Write(asm, VirtioMmioRegisters.QueueNotify, VirtioNetProtocol.ReceiveQueue);
        asm.jmp(nextFrame);

        asm.Label(ref done);
        asm.mov(bl, 0);
        asm.Label(ref fail);
        ProtectedModeImage.EmitExitWithBl(asm);
    }

    private static void SetUpQueue(Assembler asm, int queue, uint table, uint available, uint used)
    {
        Write(asm, VirtioMmioRegisters.QueueSel, (uint)queue);
        Write(asm, VirtioMmioRegisters.QueueNum, QueueSize);
        Write(asm, VirtioMmioRegisters.QueueDescLow, table);
        Write(asm, VirtioMmioRegisters.QueueDriverLow, available);
        Write(asm, VirtioMmioRegisters.QueueDeviceLow, used);
        Write(asm, VirtioMmioRegisters.QueueReady, 1);
    }

    /// <summary>Spins until the used index at <paramref name="used"/> equals the low 16 bits of edi.</summary>
    private static void WaitForUsed(Assembler asm, uint used, byte status, Label fail)
    {
        var poll = asm.CreateLabel();
        var arrived = asm.CreateLabel();
        asm.mov(ecx, PollLimit);
        asm.Label(ref poll);
        asm.cmp(__word_ptr[used + SplitRing.UsedIndexOffset], di);
        asm.je(arrived);
        asm.pause();
        asm.dec(ecx);
        asm.jnz(poll);
        asm.mov(bl, status);
        asm.jmp(fail);
        asm.Label(ref arrived);
    }

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="address"/> with dword stores (the tail byte by byte).</summary>
    private static void Store(Assembler asm, uint address, byte[] bytes)
    {
        int i = 0;
        for (; i + 4 <= bytes.Length; i += 4)
        {
            asm.mov(__dword_ptr[address + (uint)i], BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i)));
        }

        for (; i < bytes.Length; i++)
        {
            asm.mov(__byte_ptr[address + (uint)i], bytes[i]);
        }
    }

    private static void Write(Assembler asm, int offset, uint value) => asm.mov(__dword_ptr[Mmio + (uint)offset], value);
}
