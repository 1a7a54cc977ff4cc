using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Network;
using static ActorVmm.Kvm.Interop.Libc;
using static ActorVmm.Kvm.Interop.TunConstants;

namespace ActorVmm.Kvm.Tap;

/// <summary>
/// A tap interface through /dev/net/tun (kvmtool's and Firecracker's backend): opened non-blocking with
/// IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte virtio_net_hdr (TUNSETVNETHDRSZ) and every offload off (TUNSETOFFLOAD 0),
/// so the kernel hands over whole, checksummed frames and takes only such. The header is this class's business: a zero
/// header goes in front of each frame sent, and each frame read has its header checked and removed. Readiness comes from
/// the process's <see cref="EventFdPoller"/> thread (one-shot epoll), never a vCPU or the caller.
/// Opened for a VM's whole life and shared by every incarnation of its device; one reader/writer at a time.
/// </summary>
public sealed class TapDevice : INetworkTap, IDisposable
{
    /// <summary>The virtio_net_hdr size set with TUNSETVNETHDRSZ (struct virtio_net_hdr_mrg_rxbuf).</summary>
    public const int VnetHeaderBytes = 12;

    /// <summary>Largest frame read or written: a 64 KiB MTU plus Ethernet and VLAN headers, more than the device ever takes.</summary>
    public const int MaxFrameBytes = 65536 + 18;

    private const string TunPath = "/dev/net/tun";

    private readonly SafeFdHandle _fd;
    private readonly EventFdPoller.ReadinessWatch _watch;
    private readonly byte[] _receive = new byte[VnetHeaderBytes + MaxFrameBytes];
    private readonly byte[] _send = new byte[VnetHeaderBytes + MaxFrameBytes];
    private Action? _onReadable;
    private long _dropped;
    private long _sendErrors;
    private int _failedErrno;

    private TapDevice(string name, SafeFdHandle fd)
    {
        Name = name;
        _fd = fd;
        _watch = EventFdPoller.Shared.WatchReadable(fd, OnReadable);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Frames read and dropped: an offload header the device cannot pass on, or longer than the caller's buffer.</summary>
    public long DroppedFrames => Interlocked.Read(ref _dropped);

    /// <summary>Frames the kernel refused on write.</summary>
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>The errno that stopped the tap (a read error other than EAGAIN), or 0 while it works.</summary>
    public int FailedErrno => Volatile.Read(ref _failedErrno);

    /// <summary>
    /// Attaches to tap interface <paramref name="name"/>, creating it (not persistent) when it does not exist; the
    /// interface is then this process's until <see cref="Dispose"/>.
    /// </summary>
    /// <exception cref="IOException">/dev/net/tun is missing or cannot be opened, the name is in use by another process or by a tun (not tap) device, or the kernel refused a setting; the message says which.</exception>
    public static TapDevice Open(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or >= IFNAMSIZ)
        {
            throw new IOException($"tap name '{name}' must have 1 to {IFNAMSIZ - 1} characters");
        }

        int raw = open(TunPath, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (raw < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException(errno switch
            {
                ENOENT or ENODEV => $"{TunPath} is not available (load the tun module: modprobe tun)",
                EACCES or EPERM => $"{TunPath} cannot be opened: permission denied (needs root or CAP_NET_ADMIN and access to the device)",
                _ => $"{TunPath} cannot be opened: {Marshal.GetPInvokeErrorMessage(errno)}",
            });
        }

        var fd = new SafeFdHandle(raw);
        try
        {
            SetInterface(fd, name);
            int headerSize = VnetHeaderBytes;
            Check(fd, TunIoctls.TUNSETVNETHDRSZ, ref headerSize, name, "TUNSETVNETHDRSZ");

            // TUNSETOFFLOAD takes the TUN_F_* mask by value, not through a pointer: 0 turns every offload off.
            if (ioctl(fd, TunIoctls.TUNSETOFFLOAD, 0) != 0)
            {
                throw new IOException($"tap '{name}': TUNSETOFFLOAD refused: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }

            return new TapDevice(name, fd);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public unsafe int TryReceive(Span<byte> destination)
    {
        while (FailedErrno == 0)
        {
            nint n;
            // Safe: the array is pinned for the call and read(2) writes at most its length.
            fixed (byte* buffer = _receive)
            {
                n = read(_fd, buffer, (nuint)_receive.Length);
            }

            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR)
                {
                    continue;
                }

                if (errno != EAGAIN)
                {
                    // The interface went away (EBADFD) or the fd broke: stop reading rather than spin on the error.
                    Volatile.Write(ref _failedErrno, errno);
                }

                return 0;
            }

            int length = (int)n - VnetHeaderBytes;
            byte flags = _receive[0];
            byte gso = _receive[1];
            if (length <= 0 || length > destination.Length || (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 || gso != VIRTIO_NET_HDR_GSO_NONE)
            {
                // Offloads are off, so a partial checksum or a GSO frame should never come; never hand one on.
                Interlocked.Increment(ref _dropped);
                continue;
            }

            _receive.AsSpan(VnetHeaderBytes, length).CopyTo(destination);
            return length;
        }

        return 0;
    }

    /// <inheritdoc />
    public unsafe bool Send(ReadOnlySpan<byte> frame)
    {
        if (frame.Length is 0 or > MaxFrameBytes)
        {
            Interlocked.Increment(ref _sendErrors);
            return false;
        }

        // A zero virtio_net_hdr: no checksum to complete, no segmentation.
        _send.AsSpan(0, VnetHeaderBytes).Clear();
        frame.CopyTo(_send.AsSpan(VnetHeaderBytes));
        nuint total = (nuint)(VnetHeaderBytes + frame.Length);
        while (true)
        {
            nint n;
            // Safe: the array is pinned for the call and write(2) reads only the header and the frame copied into it.
            fixed (byte* buffer = _send)
            {
                n = write(_fd, buffer, total);
            }

            if (n < 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
                continue;
            }

            if (n != (nint)total)
            {
                Interlocked.Increment(ref _sendErrors);
                return false;
            }

            return true;
        }
    }

    /// <inheritdoc />
    public void RequestReadable(Action onReadable)
    {
        ArgumentNullException.ThrowIfNull(onReadable);
        if (FailedErrno != 0)
        {
            return;
        }

        Volatile.Write(ref _onReadable, onReadable);
        if (!_watch.Arm(out int errno) && errno != 0)
        {
            Volatile.Write(ref _failedErrno, errno);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _watch.Dispose();
        _fd.Dispose();
    }

    private static unsafe void SetInterface(SafeFdHandle fd, string name)
    {
        var request = default(ifreq_t);
        int length = System.Text.Encoding.ASCII.GetBytes(name, new Span<byte>(request.ifr_name, IFNAMSIZ - 1));
        request.ifr_name[length] = 0;
        request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;

        // Safe: the request lives on this stack frame for the call and is the struct ifreq TUNSETIFF reads and writes.
        if (ioctl(fd, TunIoctls.TUNSETIFF, (nint)(&request)) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException(errno switch
            {
                EBUSY => $"tap '{name}' is busy: another process has it open",
                EPERM or EACCES => $"tap '{name}' cannot be attached: permission denied (needs CAP_NET_ADMIN, or a tap made for this user: ip tuntap add {name} mode tap user $USER)",
                EINVAL => $"'{name}' cannot be attached as a tap: it is another kind of interface (a tun device, or multi-queue)",
                _ => $"tap '{name}' cannot be attached (TUNSETIFF): {Marshal.GetPInvokeErrorMessage(errno)}",
            });
        }
    }

    private static unsafe void Check<T>(SafeFdHandle fd, uint request, ref T value, string name, string what)
        where T : unmanaged
    {
        // Safe: the value is a local of the caller, fixed for the call, and of the type the ioctl reads.
        fixed (T* argument = &value)
        {
            if (ioctl(fd, request, (nint)argument) != 0)
            {
                throw new IOException($"tap '{name}': {what} refused: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
        }
    }

    private void OnReadable() => Interlocked.Exchange(ref _onReadable, null)?.Invoke();
}
