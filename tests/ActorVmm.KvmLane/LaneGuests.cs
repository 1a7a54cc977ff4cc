using ActorVmm.TestGuests;

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
    ];
}
