using ActorVmm.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.KvmLane;

/// <summary>One guest of the lane: a name and its flat binary.</summary>
public sealed record LaneGuest(string Name, byte[] Image);

/// <summary>The guests the lane runs on both backends: every exit kind a flat binary produces.</summary>
public static class LaneGuests
{
    /// <summary>Guest RAM: below <see cref="IoGuests.MmioBase"/>, so the MMIO guest's window is not RAM.</summary>
    public const ulong MemorySize = 0x8_0000;

    /// <summary>The lane's guests, small on purpose: inside nested KVM everything runs 10–50× slower.</summary>
    public static IReadOnlyList<LaneGuest> All { get; } =
    [
        new("serial-hello", Guests.SerialHello()),
        new("in-echo", IoGuests.InEcho()),
        new("mmio-read-write", IoGuests.MmioReadWrite()),
        new("rep-string-io", IoGuests.RepStringIo()),
        new("coalesced-mmio", CoalescedMmio()),
    ];

    /// <summary>Real-mode segment of <see cref="TrapRecorder.CoalescedWindowBase"/>.</summary>
    public const ushort CoalescedSegment = (ushort)(TrapRecorder.CoalescedWindowBase >> 4);

    /// <summary>Byte writes the coalesced guest makes before its port write.</summary>
    public const int CoalescedByteWrites = 4;

    /// <summary>Offset of the word the coalesced guest writes and then reads back.</summary>
    public const ushort CoalescedWordOffset = 0x100;

    /// <summary>The word written at <see cref="CoalescedWordOffset"/>.</summary>
    public const ushort CoalescedWord = 0xBEEF;

    /// <summary>
    /// Batched writes between ordinary exits: byte writes to the coalesced window, a port write,
    /// a word write, a read of the same window (an MMIO read exit, which must see every earlier
    /// write first), the value read out to a port, then the exit port.
    /// </summary>
    public static byte[] CoalescedMmio() =>
        GuestAssembler.Assemble16(asm =>
        {
            asm.mov(ax, CoalescedSegment);
            asm.mov(es, ax);
            for (int i = 0; i < CoalescedByteWrites; i++)
            {
                asm.mov(__byte_ptr.es[i], (byte)(0x10 + i));
            }

            asm.mov(dx, IoGuests.ResultPort);
            asm.@out(dx, al);
            asm.mov(__word_ptr.es[CoalescedWordOffset], CoalescedWord);
            asm.mov(ax, __word_ptr.es[CoalescedWordOffset]);
            asm.@out(dx, ax);
            GuestAssembler.EmitExit(asm, 0);
        });
}
