using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Rtc;

/// <summary>
/// Guest RAM as the CMOS memory-size fields report it: the part below the 32-bit MMIO hole and the
/// part above 4 GiB (the split a <see cref="MemoryMap"/> makes).
/// </summary>
/// <param name="BelowFourGiB">Bytes of RAM from address 0 up to the MMIO hole.</param>
/// <param name="AboveFourGiB">Bytes of RAM from 4 GiB upwards.</param>
public sealed record CmosMemorySize(ulong BelowFourGiB, ulong AboveFourGiB)
{
    private const ulong FourGiB = 1UL << 32;

    /// <summary>No RAM reported (all memory fields zero except base memory).</summary>
    public static CmosMemorySize None { get; } = new(0, 0);

    /// <summary>Sums RAM slots (from <see cref="MemoryMap.RamSlots"/>) below and above 4 GiB.</summary>
    public static CmosMemorySize FromRamSlots(IEnumerable<RamSlot> slots)
    {
        ArgumentNullException.ThrowIfNull(slots);
        ulong below = 0;
        ulong above = 0;
        foreach (var slot in slots)
        {
            // A slot straddling 4 GiB does not occur in the x86 layout; split it anyway rather than misreport.
            ulong end = slot.GuestPhysicalAddress + slot.Size;
            if (end <= FourGiB)
            {
                below += slot.Size;
            }
            else if (slot.GuestPhysicalAddress >= FourGiB)
            {
                above += slot.Size;
            }
            else
            {
                below += FourGiB - slot.GuestPhysicalAddress;
                above += end - FourGiB;
            }
        }

        return new CmosMemorySize(below, above);
    }
}
