using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Passthrough;

namespace ActorVmm.Kvm;

/// <summary>
/// An MSI route on KVM: GSI <see cref="Gsi"/> routed to the message in the kernel's table, and an
/// irqfd on that GSI. <see cref="Trigger"/> is one eventfd write: no ioctl, no lock, any thread.
/// </summary>
internal sealed class KvmMsiRoute : IEventFdMsiRoute
{
    private readonly KvmInterruptRouter _router;
    private readonly KvmEventFd _irqFd;
    private readonly Lock _lock = new();
    private MsiMessage _message;
    private volatile bool _disposed;

    public KvmMsiRoute(KvmInterruptRouter router, int gsi, MsiMessage message, KvmEventFd irqFd)
    {
        _router = router;
        Gsi = gsi;
        _message = message;
        _irqFd = irqFd;
    }

    /// <summary>The route's irqfd (tests read its counter).</summary>
    internal KvmEventFd IrqFd => _irqFd;

    /// <inheritdoc />
    public int EventFd => _irqFd.Handle.Fd;

    /// <summary>The GSI the route occupies (from <see cref="KvmGsiRoutingTable.FirstMsiGsi"/> up).</summary>
    public int Gsi { get; }

    /// <inheritdoc />
    public MsiMessage Message
    {
        get
        {
            lock (_lock)
            {
                return _message;
            }
        }
    }

    /// <inheritdoc />
    public void Update(MsiMessage message)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _router.UpdateRoute(Gsi, message);
            _message = message;
        }
    }

    /// <inheritdoc />
    public void SetMasked(bool masked)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (masked)
            {
                _irqFd.Suspend();
            }
            else
            {
                _irqFd.Resume();
            }
        }
    }

    /// <inheritdoc />
    public void Trigger()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _irqFd.Signal();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        // Deassign the irqfd first, then free the GSI: the kernel never sees an irqfd on a GSI reused by another route.
        _irqFd.Dispose();
        _router.Release(this);
    }
}
