using System.Buffers.Binary;
using System.Net;

namespace ActorVmm.TestGuests;

/// <summary>Ethernet ARP frames (RFC 826 over Ethernet II) for the network tests: a request to send, a reply to recognise.</summary>
public static class ArpFrames
{
    /// <summary>Bytes of an ARP frame without padding: a 14-byte Ethernet header and the 28-byte ARP packet.</summary>
    public const int FrameBytes = 42;

    /// <summary>EtherType of ARP.</summary>
    public const ushort EtherTypeArp = 0x0806;

    /// <summary>ARP operation: request.</summary>
    public const ushort OperationRequest = 1;

    /// <summary>ARP operation: reply.</summary>
    public const ushort OperationReply = 2;

    /// <summary>Frame offset of the EtherType.</summary>
    public const int EtherTypeOffset = 12;

    /// <summary>Frame offset of the ARP operation.</summary>
    public const int OperationOffset = 20;

    /// <summary>Frame offset of the sender hardware address.</summary>
    public const int SenderMacOffset = 22;

    /// <summary>Frame offset of the sender protocol address.</summary>
    public const int SenderIpOffset = 28;

    /// <summary>Frame offset of the target hardware address.</summary>
    public const int TargetMacOffset = 32;

    /// <summary>Frame offset of the target protocol address.</summary>
    public const int TargetIpOffset = 38;

    private const int MacBytes = 6;

    /// <summary>"Who has <paramref name="targetIp"/>? Tell <paramref name="senderIp"/>", broadcast from <paramref name="senderMac"/>.</summary>
    public static byte[] Request(ReadOnlySpan<byte> senderMac, IPAddress senderIp, IPAddress targetIp)
    {
        ArgumentNullException.ThrowIfNull(senderIp);
        ArgumentNullException.ThrowIfNull(targetIp);
        var frame = new byte[FrameBytes];
        frame.AsSpan(0, MacBytes).Fill(0xFF);
        senderMac.CopyTo(frame.AsSpan(MacBytes));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(EtherTypeOffset), EtherTypeArp);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), 1);      // hardware type: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), 0x0800); // protocol type: IPv4
        frame[18] = MacBytes;
        frame[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(OperationOffset), OperationRequest);
        senderMac.CopyTo(frame.AsSpan(SenderMacOffset));
        senderIp.GetAddressBytes().CopyTo(frame.AsSpan(SenderIpOffset));
        targetIp.GetAddressBytes().CopyTo(frame.AsSpan(TargetIpOffset));
        return frame;
    }

    /// <summary>
    /// The fields of <paramref name="frame"/> when it is an ARP reply (EtherType ARP, operation 2, at least
    /// <see cref="FrameBytes"/> long), else null.
    /// </summary>
    public static (byte[] SenderMac, IPAddress SenderIp, byte[] TargetMac, IPAddress TargetIp)? ParseReply(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < FrameBytes || BinaryPrimitives.ReadUInt16BigEndian(frame[EtherTypeOffset..]) != EtherTypeArp
            || BinaryPrimitives.ReadUInt16BigEndian(frame[OperationOffset..]) != OperationReply)
        {
            return null;
        }

        return (frame.Slice(SenderMacOffset, MacBytes).ToArray(), new IPAddress(frame.Slice(SenderIpOffset, 4)),
            frame.Slice(TargetMacOffset, MacBytes).ToArray(), new IPAddress(frame.Slice(TargetIpOffset, 4)));
    }
}
