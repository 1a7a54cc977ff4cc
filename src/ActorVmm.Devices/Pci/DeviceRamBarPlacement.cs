using ActorVmm.Machine.Memory;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The binding of a memory BAR that is plain RAM (a framebuffer) to its <see cref="DeviceRam"/>: the BAR's placement
/// maps the memory into guest space (a KVM memory slot, a region of the emulator's RAM), so guest accesses cost no exit.
/// Never throws on the vCPU thread: a placement the memory cannot take (over RAM, over other device RAM) leaves the BAR
/// not decoding and is counted in <see cref="Refused"/>.
/// </summary>
public sealed class DeviceRamBarPlacement(DeviceRam memory) : IBarPlacement
{
    private long _refused;

    /// <summary>Placements refused so far.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <inheritdoc />
    public void Place(ulong baseAddress, bool enabled)
    {
        if (!memory.Place(baseAddress, enabled && baseAddress != 0))
        {
            Interlocked.Increment(ref _refused);
        }
    }
}
