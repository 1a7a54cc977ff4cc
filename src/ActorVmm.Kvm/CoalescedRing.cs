using System.Runtime.CompilerServices;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Kvm;

/// <summary>
/// Consumer side of the kernel's coalesced MMIO/PIO ring (struct kvm_coalesced_mmio_ring): the
/// kernel appends batched writes at <c>last</c>; we replay them, in order, from <c>first</c>.
/// The ring is one per VM, mapped into every vCPU's kvm_run area, so all vCPUs of a VM share one
/// drain lock: two consumers must never replay (or skip) the same entry.
/// </summary>
internal sealed unsafe class CoalescedRing
{
    // Unsafe: both point into the ring page the owner keeps mapped for this object's life; entry
    // indices are checked against Capacity before use.
    private readonly kvm_coalesced_mmio_ring* _ring;
    private readonly kvm_coalesced_mmio* _entries;
    private readonly Lock _drainLock;

    /// <summary>Wraps a ring page of <paramref name="pageSize"/> bytes; <paramref name="drainLock"/> is shared by the VM's vCPUs.</summary>
    public CoalescedRing(nint page, int pageSize, Lock? drainLock = null)
    {
        _drainLock = drainLock ?? new Lock();
        _ring = (kvm_coalesced_mmio_ring*)page;
        _entries = (kvm_coalesced_mmio*)(page + sizeof(kvm_coalesced_mmio_ring));
        Capacity = (uint)((pageSize - sizeof(kvm_coalesced_mmio_ring)) / sizeof(kvm_coalesced_mmio));
    }

    /// <summary>Entries the ring holds (the kernel's KVM_COALESCED_MMIO_MAX for this page size).</summary>
    public uint Capacity { get; }

    /// <summary>Size in bytes of one ring entry.</summary>
    public static int EntrySize => sizeof(kvm_coalesced_mmio);

    /// <summary>Size in bytes of the ring header.</summary>
    public static int HeaderSize => sizeof(kvm_coalesced_mmio_ring);

    /// <summary>Replays every pending entry as a write through the dispatcher; returns how many.</summary>
    /// <exception cref="InvalidOperationException">The ring indices are out of range (corrupted ring).</exception>
    public int Drain(int vcpuId, TrapDispatcher dispatcher)
    {
        // Fast path without the lock: nothing batched (the common case after most exits).
        if (Volatile.Read(ref _ring->first) == Volatile.Read(ref _ring->last))
        {
            return 0;
        }

        lock (_drainLock)
        {
            return DrainLocked(vcpuId, dispatcher);
        }
    }

    private int DrainLocked(int vcpuId, TrapDispatcher dispatcher)
    {
        int drained = 0;
        while (true)
        {
            // Acquire: read 'last' before the entry the kernel published with it.
            uint last = Volatile.Read(ref _ring->last);
            uint first = Volatile.Read(ref _ring->first);
            if (first == last)
            {
                return drained;
            }

            if (first >= Capacity || last >= Capacity)
            {
                throw new InvalidOperationException($"Coalesced ring indices out of range: first={first} last={last} capacity={Capacity}");
            }

            // Safe: first < Capacity, and Capacity entries fit in the ring page after its header.
            kvm_coalesced_mmio entry = _entries[first];
            uint length = Math.Min(entry.len, 8u);
            var bus = entry.pio != 0 ? TrapBus.Pio : TrapBus.Mmio;
            dispatcher.Dispatch(vcpuId, bus, entry.phys_addr, TrapDirection.Write, new Span<byte>(Unsafe.AsPointer(ref entry.data[0]), (int)length));

            // Release: the entry is consumed before the kernel may overwrite it.
            Volatile.Write(ref _ring->first, (first + 1) % Capacity);
            drained++;
        }
    }
}
