using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Kvm;

/// <summary>
/// Mirrors device RAM placements (a framebuffer BAR) into KVM memory slots: a mapped <see cref="DeviceRam"/> is a
/// KVM_SET_USER_MEMORY_REGION slot over its host memory, so the guest draws into it without an exit; unmapping it sets
/// the slot's size to 0 (which deletes it). Runs on the thread that moves the BAR (a vCPU thread inside a config write);
/// KVM takes slot changes while other vCPUs run.
/// </summary>
internal sealed class KvmRamSlotListener(SafeFdHandle vmFd, ILogger? logger = null) : IRamSlotListener
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <inheritdoc />
    public void OnMapped(GuestMemoryRegion region)
    {
        var slot = new kvm_userspace_memory_region
        {
            slot = (uint)region.Slot,
            guest_phys_addr = region.GuestPhysicalAddress,
            memory_size = region.Size,
            userspace_addr = (ulong)region.HostAddress,
        };

        // A refusal (EEXIST: the guest put the BAR over another slot) propagates: GuestMemory leaves the memory unmapped.
        KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, ref slot, nameof(KvmIoctls.KVM_SET_USER_MEMORY_REGION));
        _logger.LogDebug("KVM slot {Slot} maps {Region}", region.Slot, region.ToString());
    }

    /// <inheritdoc />
    public void OnUnmapped(GuestMemoryRegion region)
    {
        if (vmFd.IsClosed)
        {
            return;
        }

        // memory_size 0 deletes the slot; the other fields only name it.
        var slot = new kvm_userspace_memory_region { slot = (uint)region.Slot, guest_phys_addr = region.GuestPhysicalAddress };
        try
        {
            KvmCalls.Ioctl(vmFd, KvmIoctls.KVM_SET_USER_MEMORY_REGION, ref slot, nameof(KvmIoctls.KVM_SET_USER_MEMORY_REGION));
        }
        catch (KvmIoctlException ex)
        {
            _logger.LogWarning(ex, "KVM refused to delete slot {Slot} of {Region}", region.Slot, region.ToString());
        }
    }
}
