using System.Buffers.Binary;
using ActorVmm.Devices.Virtio.Queues;
using ActorVmm.Machine.Network;

namespace ActorVmm.Devices.Virtio.Net;

/// <summary>
/// virtio-net (virtio 1.2 §5.1) over an <see cref="INetworkTap"/>: one receive and one transmit queue, no control queue,
/// VIRTIO_NET_F_MAC and VIRTIO_NET_F_STATUS (the link is always up), no offloads (no CSUM, TSO or MRG_RXBUF: every frame
/// is whole and fully checksummed, one chain per received frame). The 12-byte virtio_net_hdr is the guest's business:
/// stripped from transmitted frames (which must carry no offload request) and written, all zero but num_buffers = 1, in
/// front of received ones; the tap sees bare Ethernet frames.
/// <para>
/// Transmit: a notification makes the slow path send every available chain's frame and return the chain (used length
/// 0). Receive with back-pressure: a frame is taken from the tap only into a receive chain already taken from the ring.
/// With no chain available nothing is read (the ring's notification is re-enabled, and the guest's next notification
/// brings the device back), so frames wait in the host's tap queue. With a chain but no frame the chain is held and the
/// tap asked for one readiness callback, which posts <see cref="TapReadable"/> to this device's slow path. The held
/// chain is in flight in the ring, so a rebuilt incarnation gets it back through <see cref="Resubmit"/>.
/// </para>
/// </summary>
public sealed class VirtioNet : IVirtioDeviceModel
{
    /// <summary>Entries per queue offered.</summary>
    public const ushort QueueSize = 256;

    /// <summary>Most frames received per slow-path message, so transmit work and other devices get their turn; the rest follow in a new message.</summary>
    public const int MaxFramesPerPass = 64;

    private readonly INetworkTap _tap;
    private readonly MacAddress _mac;
    private readonly byte[] _frame = new byte[VirtioNetProtocol.HeaderBytes + VirtioNetProtocol.MaxFrameBytes];
    private readonly Queue<DescriptorChain> _heldReceive = new();
    private IVirtioModelHost? _host;

    /// <summary>Creates the card: frames go through <paramref name="tap"/>; <paramref name="mac"/> is in the configuration space.</summary>
    public VirtioNet(INetworkTap tap, MacAddress mac, VirtioNetCounters? counters = null)
    {
        _tap = tap ?? throw new ArgumentNullException(nameof(tap));
        _mac = mac;
        Counters = counters ?? new VirtioNetCounters();
    }

    /// <summary>What the card moved and dropped.</summary>
    public VirtioNetCounters Counters { get; }

    /// <inheritdoc />
    public VirtioDeviceType DeviceType => VirtioDeviceType.Network;

    /// <inheritdoc />
    public ulong Features => VirtioNetProtocol.OfferedFeatures;

    /// <inheritdoc />
    public int QueueCount => 2;

    /// <inheritdoc />
    public ushort MaxQueueSize => QueueSize;

    /// <inheritdoc />
    public int ConfigLength => VirtioNetProtocol.ConfigBytes;

    /// <inheritdoc />
    public void ReadConfig(int offset, Span<byte> destination)
    {
        Span<byte> config = stackalloc byte[VirtioNetProtocol.ConfigBytes];
        _mac.CopyTo(config[VirtioNetProtocol.ConfigMac..]);
        BinaryPrimitives.WriteUInt16LittleEndian(config[VirtioNetProtocol.ConfigStatus..], VirtioNetProtocol.StatusLinkUp);
        config.Slice(offset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc />
    public void WriteConfig(int offset, ReadOnlySpan<byte> source)
    {
        // §5.1.4: mac and status are read-only for a 1.x driver (a new MAC goes through the control queue, not offered).
    }

    /// <inheritdoc />
    public bool AcceptsFeatures(ulong driverFeatures) => true;

    /// <inheritdoc />
    public void Activate(IVirtioModelHost host) => _host = host;

    /// <inheritdoc />
    public void ProcessQueue(Virtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.Index == VirtioNetProtocol.TransmitQueue)
        {
            while (queue.TryPop(out var chain))
            {
                Transmit(queue, chain);
            }
        }
        else
        {
            Receive(queue);
        }
    }

    /// <inheritdoc />
    public void Resubmit(Virtqueue queue, DescriptorChain chain)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queue.Index == VirtioNetProtocol.TransmitQueue)
        {
            // Transmit chains are sent and returned in one step under the lock, so a captured state never holds one;
            // if it did, sending the frame again is what a retransmitting wire does.
            Transmit(queue, chain);
        }
        else
        {
            // A receive chain the previous incarnation held while waiting for a frame: hold it again.
            _heldReceive.Enqueue(chain);
        }
    }

    /// <inheritdoc />
    public bool OnMessage(object message)
    {
        if (message is not TapReadable)
        {
            return false;
        }

        // A readiness callback from before a reset (or for an earlier incarnation) finds nothing to do.
        if (_host?.Queue(VirtioNetProtocol.ReceiveQueue) is { } receive)
        {
            Receive(receive);
        }

        return true;
    }

    /// <inheritdoc />
    public void Reset()
    {
        // The queues are retired with the chains they held; frames stay in the tap for the driver's next start.
        _heldReceive.Clear();
        _host = null;
    }

    private IVirtioModelHost Host => _host ?? throw new InvalidOperationException("virtio-net used before DRIVER_OK");

    private void Transmit(Virtqueue transmit, DescriptorChain chain)
    {
        uint length = chain.ReadableLength;
        if (length < VirtioNetProtocol.HeaderBytes + VirtioNetProtocol.MinFrameBytes || length > VirtioNetProtocol.HeaderBytes + VirtioNetProtocol.MaxFrameBytes)
        {
            Counters.AddBadTransmit();
            Host.CountBadRequest($"transmit chain of {length} readable bytes: a 12-byte header and a frame of {VirtioNetProtocol.MinFrameBytes} to {VirtioNetProtocol.MaxFrameBytes} bytes expected");
        }
        else
        {
            var packet = _frame.AsSpan(0, (int)length);
            chain.Read(Host.Dma, 0, packet);
            byte flags = packet[VirtioNetProtocol.HeaderFlagsOffset];
            byte gso = packet[VirtioNetProtocol.HeaderGsoTypeOffset];
            if (flags != 0 || gso != VirtioNetProtocol.GsoNone)
            {
                // Neither CSUM nor HOST_TSO was offered: a partial checksum or a GSO packet cannot be put on the wire.
                Counters.AddBadTransmit();
                Host.CountBadRequest($"transmit header asks for an offload that was not negotiated (flags 0x{flags:X2}, gso_type {gso})");
            }
            else if (_tap.Send(packet[VirtioNetProtocol.HeaderBytes..]))
            {
                Counters.AddSent();
            }
            else
            {
                Counters.AddSendRefused();
            }
        }

        // Transmit buffers are device-readable only: nothing was written.
        transmit.Complete(chain, 0);
    }

    private void Receive(Virtqueue receive)
    {
        var frame = _frame.AsSpan(VirtioNetProtocol.HeaderBytes);
        for (int delivered = 0; delivered < MaxFramesPerPass;)
        {
            if (!_heldReceive.TryDequeue(out var chain) && !receive.TryPop(out chain))
            {
                // No buffer: the frames wait in the tap; the guest's next receive notification brings the device back.
                return;
            }

            if (chain.WritableLength < VirtioNetProtocol.HeaderBytes)
            {
                Counters.AddReceiveBufferTooSmall();
                Host.CountBadRequest($"receive chain of {chain.WritableLength} writable bytes cannot hold the {VirtioNetProtocol.HeaderBytes}-byte header");
                receive.Complete(chain, 0);
                continue;
            }

            int length = _tap.TryReceive(frame);
            if (length == 0)
            {
                // A buffer but no frame: keep the buffer and wait for the tap (its callback posts TapReadable here).
                _heldReceive.Enqueue(chain);
                var host = Host;
                _tap.RequestReadable(() => host.Post(TapReadable.Instance));
                return;
            }

            if ((uint)(VirtioNetProtocol.HeaderBytes + length) > chain.WritableLength)
            {
                // Without MRG_RXBUF a frame must fit one chain: drop this frame, keep the chain for the next.
                Counters.AddReceiveTooLarge();
                _heldReceive.Enqueue(chain);
                continue;
            }

            var packet = _frame.AsSpan(0, VirtioNetProtocol.HeaderBytes + length);
            packet[..VirtioNetProtocol.HeaderBytes].Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(packet[VirtioNetProtocol.HeaderNumBuffersOffset..], 1);

            // The chain's buffers were checked to be RAM, so the whole packet lands: the frame is not lost.
            uint written = (uint)chain.Write(Host.Dma, 0, packet);
            receive.Complete(chain, written);
            Counters.AddReceived();
            delivered++;
        }

        // More may be waiting: come back after whatever else is in the mailbox.
        Host.Post(TapReadable.Instance);
    }

    /// <summary>The tap has a frame waiting (posted by its readiness callback, or by the device itself after a full pass).</summary>
    public sealed record TapReadable
    {
        private TapReadable()
        {
        }

        /// <summary>The single instance.</summary>
        public static TapReadable Instance { get; } = new();
    }
}
