using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;

namespace ActorVmm.Kvm;

/// <summary>
/// An eventfd(2) bound to the VM: an ioeventfd (the kernel signals it on a guest write, without
/// an exit to userspace) or an irqfd (signalling it raises a GSI). Disposing deassigns it.
/// </summary>
public sealed class KvmEventFd : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Action<SafeFdHandle>? _reassign;
    private Action<SafeFdHandle>? _deassign;
    private bool _suspended;
    private bool _disposed;

    internal KvmEventFd(SafeFdHandle fd, Action<SafeFdHandle>? deassign, Action<SafeFdHandle>? reassign = null)
    {
        Handle = fd;
        _deassign = deassign;
        _reassign = reassign;
    }

    internal SafeFdHandle Handle { get; }

    /// <summary>Creates a non-blocking, close-on-exec eventfd with counter 0.</summary>
    internal static SafeFdHandle Create()
    {
        int fd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        return fd >= 0 ? new SafeFdHandle(fd) : throw new KvmIoctlException("eventfd", Marshal.GetLastPInvokeError());
    }

    /// <summary>Adds one to the counter (for an irqfd: raises its interrupt).</summary>
    public void Signal()
    {
        if (Libc.write(Handle, 1UL, sizeof(ulong)) != sizeof(ulong))
        {
            throw new KvmIoctlException("write to eventfd", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Reads and resets the counter; 0 when nothing was signalled since the last read.</summary>
    public ulong Consume()
    {
        ulong value = 0;
        if (Libc.read(Handle, ref value, sizeof(ulong)) == sizeof(ulong))
        {
            return value;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno == Libc.EAGAIN ? 0UL : throw new KvmIoctlException("read from eventfd", errno);
    }

    /// <summary>Detaches the eventfd from the VM (deassigns the ioeventfd/irqfd) without closing it; once only, and not again when suspended.</summary>
    internal void Deassign()
    {
        Action<SafeFdHandle>? deassign;
        lock (_lock)
        {
            deassign = _suspended ? null : _deassign;
            _deassign = null;
        }

        deassign?.Invoke(Handle);
    }

    /// <summary>
    /// Detaches the eventfd from the VM for now (an irqfd no longer raises its GSI); what is signalled meanwhile stays in
    /// its counter, which the kernel sees when <see cref="Resume"/> attaches it again. No-op when already detached.
    /// </summary>
    internal void Suspend()
    {
        lock (_lock)
        {
            if (_suspended || _deassign is null)
            {
                return;
            }

            _deassign(Handle);
            _suspended = true;
        }
    }

    /// <summary>Attaches a suspended eventfd again (KVM raises an irqfd at once if it was signalled meanwhile).</summary>
    /// <exception cref="InvalidOperationException">The eventfd was made without a way to attach it again.</exception>
    internal void Resume()
    {
        lock (_lock)
        {
            if (!_suspended || _deassign is null)
            {
                return;
            }

            (_reassign ?? throw new InvalidOperationException("this eventfd cannot be attached again"))(Handle);
            _suspended = false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            Deassign();
        }
        finally
        {
            Handle.Dispose();
        }
    }
}
