namespace ActorVmm.Actors.Devices.Rtc;

/// <summary>
/// Guest RAM as the CMOS memory-size fields report it: the part below the 32-bit MMIO hole and the
/// part above 4 GiB (the split a <c>MemoryMap</c> makes).
/// </summary>
/// <param name="BelowFourGiB">Bytes of RAM from address 0 up to the MMIO hole.</param>
/// <param name="AboveFourGiB">Bytes of RAM from 4 GiB upwards.</param>
public sealed record CmosMemorySize(ulong BelowFourGiB, ulong AboveFourGiB)
{
    /// <summary>No RAM reported (all memory fields zero except base memory).</summary>
    public static CmosMemorySize None { get; } = new(0, 0);
}
