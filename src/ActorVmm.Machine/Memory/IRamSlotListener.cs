namespace ActorVmm.Machine.Memory;

/// <summary>
/// SEAM (implemented by a backend whose guest reaches RAM without the VMM, KVM): told when a <see cref="DeviceRam"/>
/// is mapped into or taken out of guest-physical space, so the backend mirrors it (a KVM memory slot). Called on the
/// thread that places the device RAM (a vCPU thread inside a BAR write), one change at a time. The emulator needs no
/// listener: it reads <see cref="GuestMemory.Regions"/> itself.
/// </summary>
public interface IRamSlotListener
{
    /// <summary>The device RAM's region now decodes at its guest address. Throw to refuse it (it then stays unmapped).</summary>
    void OnMapped(GuestMemoryRegion region);

    /// <summary>The device RAM's region no longer decodes at its guest address. Must not throw.</summary>
    void OnUnmapped(GuestMemoryRegion region);
}
