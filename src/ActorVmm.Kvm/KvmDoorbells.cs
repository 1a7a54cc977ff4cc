using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm;

/// <summary>
/// Doorbells on KVM: each is an ioeventfd (KVM_IOEVENTFD), so the guest's write completes in the
/// kernel without an exit, and the process's one <see cref="EventFdPoller"/> calls the callback. The
/// <see cref="DoorbellTable"/> keeps the registrations and refuses collisions before the kernel would.
/// </summary>
internal sealed class KvmDoorbells : IDoorbells, IDisposable
{
    private readonly IKvmVmKernel _kernel;
    private readonly Func<EventFdPoller> _poller;
    private readonly DoorbellTable _table = new();
    private readonly Lock _lock = new();
    private readonly HashSet<KvmDoorbell> _live = [];

    /// <param name="kernel">The VM's ioctls.</param>
    /// <param name="poller">The process's poller, asked for on the first registration (so a VM without doorbells starts no thread).</param>
    public KvmDoorbells(IKvmVmKernel kernel, Func<EventFdPoller> poller)
    {
        _kernel = kernel;
        _poller = poller;
    }

    /// <summary>Registered doorbells.</summary>
    public int Count => _table.Count;

    /// <summary>Callbacks that threw.</summary>
    public long FailedCallbacks => _table.FailedCallbacks;

    /// <inheritdoc />
    public IDisposable Register(Doorbell doorbell, Action callback)
    {
        var entry = _table.Add(doorbell, callback);
        KvmEventFd? eventFd = null;
        try
        {
            eventFd = RegisterIoEventFd(_kernel, doorbell.Bus, doorbell.Address, doorbell.Length, doorbell.DataMatch);
            var watch = _poller().Add(eventFd.Handle, entry.Ring);
            var registration = new KvmDoorbell(this, entry, eventFd, watch);
            lock (_lock)
            {
                _live.Add(registration);
            }

            return registration;
        }
        catch
        {
            eventFd?.Dispose();
            _table.Remove(entry);
            throw;
        }
    }

    /// <summary>
    /// KVM_IOEVENTFD: the kernel signals the returned eventfd when the guest writes <paramref name="length"/>
    /// bytes at <paramref name="address"/> (only <paramref name="dataMatch"/>, when given); disposing deassigns it.
    /// </summary>
    internal static KvmEventFd RegisterIoEventFd(IKvmVmKernel kernel, TrapBus bus, ulong address, int length, ulong? dataMatch)
    {
        if (length is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "An ioeventfd covers 1, 2, 4 or 8 bytes");
        }

        var fd = KvmEventFd.Create();
        uint flags = (bus == TrapBus.Pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (dataMatch.HasValue ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0);
        var request = new kvm_ioeventfd { addr = address, len = (uint)length, fd = fd.Fd, flags = flags, datamatch = dataMatch ?? 0 };
        try
        {
            kernel.IoEventFd(request);
        }
        catch
        {
            fd.Dispose();
            throw;
        }

        return new KvmEventFd(fd, _ =>
        {
            var deassign = request;
            deassign.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
            kernel.IoEventFd(deassign);
        });
    }

    /// <summary>Removes every doorbell still registered (before the VM fd closes), so the poller drops their fds.</summary>
    public void Dispose()
    {
        KvmDoorbell[] live;
        lock (_lock)
        {
            live = [.. _live];
        }

        foreach (var doorbell in live)
        {
            doorbell.Dispose();
        }
    }

    private void Forget(KvmDoorbell doorbell)
    {
        lock (_lock)
        {
            _live.Remove(doorbell);
        }
    }

    private sealed class KvmDoorbell(KvmDoorbells owner, DoorbellEntry entry, KvmEventFd eventFd, IDisposable watch) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            try
            {
                // Kernel first (no more signals), then the poller (it stops reading the fd), then the entry
                // (no callback starts after this returns), and only then the fd closes.
                eventFd.Deassign();
            }
            finally
            {
                watch.Dispose();
                owner._table.Remove(entry);
                eventFd.Dispose();
                owner.Forget(this);
            }
        }
    }
}
