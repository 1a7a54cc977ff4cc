using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;

namespace ActorVmm.Kvm;

/// <summary>
/// An eventfd(2) bound to the VM: an ioeventfd (the kernel signals it on a guest write, without
/// an exit to userspace) or an irqfd (signalling it raises a GSI). Disposing deassigns it.
/// </summary>
public sealed class KvmEventFd : IDisposable
{
    private Action<SafeFdHandle>? _deassign;
    private bool _disposed;

    internal KvmEventFd(SafeFdHandle fd, Action<SafeFdHandle>? deassign)
    {
        Handle = fd;
        _deassign = deassign;
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

    /// <summary>Detaches the eventfd from the VM (deassigns the ioeventfd/irqfd) without closing it; once only.</summary>
    internal void Deassign() => Interlocked.Exchange(ref _deassign, null)?.Invoke(Handle);

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
