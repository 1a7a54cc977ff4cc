using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Passthrough;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm;

/// <summary>
/// <see cref="IPassthroughHost"/> on KVM: device memory as extra memory slots (numbered from <see cref="FirstSlot"/>, reused
/// once freed), level-triggered irqfds with a resample eventfd (KVM_IRQFD_FLAG_RESAMPLE) and MSI routes whose irqfd
/// a VFIO device signals directly.
/// </summary>
internal sealed class KvmPassthroughHost : IPassthroughHost
{
    /// <summary>
    /// First slot number handed out: the numbers below belong to <see cref="GuestMemory"/>, which numbers guest RAM and
    /// then device RAM (a framebuffer BAR) from 0, so the two numberings never meet.
    /// </summary>
    public const int FirstSlot = 256;

    /// <summary>Highest slot number handed out (KVM accepts at least 509 user slots on x86).</summary>
    public const int MaxSlot = 508;

    private readonly IKvmVmKernel _kernel;
    private readonly KvmInterruptRouter _interrupts;
    private readonly GuestMemory _memory;
    private readonly int _gsiCount;
    private readonly SortedSet<int> _freeSlots = [];
    private readonly Lock _lock = new();
    private int _nextSlot;

    public KvmPassthroughHost(IKvmVmKernel kernel, KvmInterruptRouter interrupts, GuestMemory memory)
    {
        _kernel = kernel;
        _interrupts = interrupts;
        _memory = memory;
        _gsiCount = interrupts.GsiCount;
        _nextSlot = FirstSlot;
    }

    /// <inheritdoc />
    public IReadOnlyList<(ulong GuestAddress, nint HostAddress, ulong Size)> DmaWindows =>
        [.. _memory.Regions.Select(r => (r.GuestPhysicalAddress, r.HostAddress, r.Size))];

    /// <inheritdoc />
    public IDisposable MapDeviceMemory(ulong guestAddress, ulong size, nint hostAddress)
    {
        const ulong pageMask = GuestMemoryRegion.PageSize - 1;
        if (size == 0 || ((guestAddress | size | (ulong)hostAddress) & pageMask) != 0 || guestAddress + size < guestAddress)
        {
            throw new ArgumentException($"device memory [0x{guestAddress:X}, +0x{size:X}) at host 0x{hostAddress:X} is not a page-aligned, non-empty range");
        }

        if (_memory.Regions.Any(r => guestAddress < r.End && r.GuestPhysicalAddress < guestAddress + size))
        {
            throw new ArgumentException($"device memory [0x{guestAddress:X}, +0x{size:X}) overlaps guest RAM");
        }

        int slot = AllocateSlot();
        var region = new kvm_userspace_memory_region { slot = (uint)slot, guest_phys_addr = guestAddress, memory_size = size, userspace_addr = (ulong)hostAddress };
        try
        {
            _kernel.SetUserMemoryRegion(region);
        }
        catch
        {
            FreeSlot(slot);
            throw;
        }

        return new DeviceMemorySlot(this, region);
    }

    /// <inheritdoc />
    public ILevelIrqFd CreateLevelIrqFd(int gsi)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(gsi);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(gsi, _gsiCount);
        var trigger = KvmEventFd.Create();
        var resample = KvmEventFd.Create();
        var request = new kvm_irqfd { fd = (uint)trigger.Fd, gsi = (uint)gsi, flags = KVM_IRQFD_FLAG_RESAMPLE, resamplefd = (uint)resample.Fd };
        try
        {
            _kernel.IrqFd(request);
        }
        catch
        {
            trigger.Dispose();
            resample.Dispose();
            throw;
        }

        return new LevelIrqFd(this, gsi, request, trigger, resample);
    }

    /// <inheritdoc />
    public IEventFdMsiRoute CreateEventFdMsiRoute(MsiMessage message) => (KvmMsiRoute)_interrupts.CreateMsiRoute(message);

    private int AllocateSlot()
    {
        lock (_lock)
        {
            if (_freeSlots.Count > 0)
            {
                int reused = _freeSlots.Min;
                _freeSlots.Remove(reused);
                return reused;
            }

            return _nextSlot <= MaxSlot ? _nextSlot++ : throw new InvalidOperationException($"no free KVM memory slot (slots up to {MaxSlot} are in use)");
        }
    }

    private void FreeSlot(int slot)
    {
        lock (_lock)
        {
            _freeSlots.Add(slot);
        }
    }

    /// <summary>A memory slot of device memory; disposing deletes it (memory_size 0) and frees the number.</summary>
    private sealed class DeviceMemorySlot(KvmPassthroughHost host, kvm_userspace_memory_region region) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            var delete = region;
            delete.memory_size = 0;
            host._kernel.SetUserMemoryRegion(delete);
            host.FreeSlot((int)region.slot);
        }
    }

    /// <summary>A resampling irqfd; disposing deassigns it and closes both eventfds.</summary>
    private sealed class LevelIrqFd(KvmPassthroughHost host, int gsi, kvm_irqfd request, SafeFdHandle trigger, SafeFdHandle resample) : ILevelIrqFd
    {
        private int _disposed;

        public int Gsi => gsi;

        public int TriggerFd => trigger.Fd;

        public int ResampleFd => resample.Fd;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            try
            {
                var deassign = request;
                deassign.flags = KVM_IRQFD_FLAG_DEASSIGN;
                host._kernel.IrqFd(deassign);
            }
            finally
            {
                trigger.Dispose();
                resample.Dispose();
            }
        }
    }
}
