using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Traps;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Kvm;

/// <summary>
/// Keeps the kernel's coalesced zones on the placements that decode: a region registered with
/// <see cref="TrapFlags.Coalesce"/> has a KVM_REGISTER_COALESCED_MMIO zone (with pio = 1 on the port
/// bus) exactly while it decodes, so a moved, disabled or shadowed BAR stops batching writes at its old
/// place. Coalescing port I/O without KVM_CAP_COALESCED_PIO, or a region too large for a zone, is
/// refused at registration instead of silently trapping every write.
/// </summary>
internal sealed class KvmCoalescingListener(SafeFdHandle vmFd, bool hasCoalescedPio, ILogger? logger = null) : ITrapRegionListener
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <inheritdoc />
    public void OnRegistering(TrapRegion region)
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
    }

    /// <inheritdoc />
    public void OnDecodeStarted(TrapRegion region)
    {
        if (!region.Flags.HasFlag(TrapFlags.Coalesce) || vmFd.IsClosed)
        {
            return;
        }

        var zone = Zone(region);
        try
        {
            KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_REGISTER_COALESCED_MMIO, ref zone, nameof(KvmIoctls.KVM_REGISTER_COALESCED_MMIO));
        }
        catch (KvmIoctlException ex)
        {
            // This may run on a vCPU thread (a BAR write): the region still decodes, its writes just trap one by one.
            _logger.LogWarning(ex, "Region {Region} decodes without write coalescing: the kernel refused its zone", region.ToString());
        }
    }

    /// <inheritdoc />
    public void OnDecodeStopped(TrapRegion region)
    {
        if (!region.Flags.HasFlag(TrapFlags.Coalesce) || vmFd.IsClosed)
        {
            return;
        }

        var zone = Zone(region);
        try
        {
            KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_UNREGISTER_COALESCED_MMIO, ref zone, nameof(KvmIoctls.KVM_UNREGISTER_COALESCED_MMIO));
        }
        catch (KvmIoctlException ex)
        {
            // Also the case for a zone the kernel refused when the region started decoding.
            _logger.LogDebug(ex, "Region {Region}: no coalesced zone to remove", region.ToString());
        }
    }

    private static kvm_coalesced_mmio_zone Zone(TrapRegion region) =>
        new() { addr = region.Base, size = (uint)region.Length, pio = region.Bus == TrapBus.Pio ? 1u : 0u };
}
