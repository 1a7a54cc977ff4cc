using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Kvm;

/// <summary>
/// Keeps the kernel's coalesced zones in step with the trap table: a region registered with
/// <see cref="TrapFlags.Coalesce"/> becomes a KVM_REGISTER_COALESCED_MMIO zone (with pio = 1 on
/// the port bus) and is unregistered when it leaves the table. Coalescing port I/O without
/// KVM_CAP_COALESCED_PIO is refused at registration instead of silently trapping every write.
/// </summary>
internal sealed class KvmCoalescingListener(SafeFdHandle vmFd, bool hasCoalescedPio) : ITrapRegionListener
{
    /// <inheritdoc />
    public void OnRegionAdding(TrapRegion region)
    {
        if (!region.Flags.HasFlag(TrapFlags.Coalesce))
        {
            return;
        }

        if (region.Bus == TrapBus.Pio && !hasCoalescedPio)
        {
            throw new TrapRegistrationException(
                $"Region {region} asks for coalesced port I/O, but this kernel's KVM lacks {nameof(KvmConstants.KVM_CAP_COALESCED_PIO)}; register it without the Coalesce flag");
        }

        if (region.Length > uint.MaxValue)
        {
            throw new TrapRegistrationException($"Region {region} is too large for a coalesced zone (at most 0x{uint.MaxValue:X} bytes)");
        }

        var zone = Zone(region);
        try
        {
            KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_REGISTER_COALESCED_MMIO, ref zone, nameof(KvmIoctls.KVM_REGISTER_COALESCED_MMIO));
        }
        catch (KvmIoctlException ex)
        {
            throw new TrapRegistrationException($"Region {region}: {ex.Message}");
        }
    }

    /// <inheritdoc />
    public void OnRegionRemoved(TrapRegion region)
    {
        if (!region.Flags.HasFlag(TrapFlags.Coalesce) || (region.Bus == TrapBus.Pio && !hasCoalescedPio) || vmFd.IsClosed)
        {
            return;
        }

        var zone = Zone(region);
        KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_UNREGISTER_COALESCED_MMIO, ref zone, nameof(KvmIoctls.KVM_UNREGISTER_COALESCED_MMIO));
    }

    private static kvm_coalesced_mmio_zone Zone(TrapRegion region) =>
        new() { addr = region.Base, size = (uint)region.Length, pio = region.Bus == TrapBus.Pio ? 1u : 0u };
}
