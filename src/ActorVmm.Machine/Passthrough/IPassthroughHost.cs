using ActorVmm.Machine.Interrupts;

namespace ActorVmm.Machine.Passthrough;

/// <summary>
/// What a backend offers a passed-through device beyond traps: device memory mapped straight into the guest (no
/// exits), and interrupts the host kernel raises without userspace (eventfds bound to GSIs). The KVM backend
/// implements it; the emulator does not (a VFIO device needs the kernel's IOMMU and irqfds).
/// </summary>
public interface IPassthroughHost
{
    /// <summary>Guest RAM regions to map for the device's DMA: (guest-physical address, host address, size).</summary>
    IReadOnlyList<(ulong GuestAddress, nint HostAddress, ulong Size)> DmaWindows { get; }

    /// <summary>
    /// Maps <paramref name="size"/> bytes at <paramref name="hostAddress"/> (an mmapped device area) into the guest at
    /// <paramref name="guestAddress"/> as a memory slot; disposing removes the slot. Both page aligned.
    /// </summary>
    /// <exception cref="ArgumentException">Not page aligned, or overlapping guest RAM.</exception>
    /// <exception cref="IOException">The kernel refused.</exception>
    IDisposable MapDeviceMemory(ulong guestAddress, ulong size, nint hostAddress);

    /// <summary>A level-triggered interrupt on GSI <paramref name="gsi"/> raised by an eventfd, with a resample eventfd signalled at EOI.</summary>
    /// <exception cref="IOException">The kernel refused.</exception>
    ILevelIrqFd CreateLevelIrqFd(int gsi);

    /// <summary>An MSI route (<see cref="IInterruptRouter.CreateMsiRoute"/>) whose irqfd is exposed for the host kernel to signal.</summary>
    /// <exception cref="InvalidOperationException">The routes are used up.</exception>
    IEventFdMsiRoute CreateEventFdMsiRoute(MsiMessage message);
}

/// <summary>A level-triggered irqfd: the kernel raises the GSI when <see cref="TriggerFd"/> is signalled and signals <see cref="ResampleFd"/> on EOI.</summary>
public interface ILevelIrqFd : IDisposable
{
    /// <summary>The GSI.</summary>
    int Gsi { get; }

    /// <summary>The trigger eventfd (owned by this object; borrowed by whoever signals it).</summary>
    int TriggerFd { get; }

    /// <summary>The resample eventfd (owned by this object).</summary>
    int ResampleFd { get; }
}

/// <summary>An MSI route whose irqfd's eventfd number is visible, so a VFIO device can signal it directly.</summary>
public interface IEventFdMsiRoute : IMsiRoute
{
    /// <summary>The irqfd's eventfd (owned by the route).</summary>
    int EventFd { get; }

    /// <summary>
    /// Masks or unmasks the route for an eventfd the host kernel signals (an MSI-X vector's mask bit): while masked the
    /// irqfd is detached from its GSI and the eventfd keeps counting, so an interrupt raised meanwhile is delivered
    /// once when the route is unmasked (the vector's pending bit), never while masked. Routes start unmasked.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The route was disposed.</exception>
    /// <exception cref="IOException">The kernel refused.</exception>
    void SetMasked(bool masked);
}
