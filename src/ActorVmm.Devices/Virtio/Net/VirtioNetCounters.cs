namespace ActorVmm.Devices.Virtio.Net;

/// <summary>
/// What a virtio-net device moved and dropped, shared by every incarnation of the device (the factory creates it once).
/// Thread-safe: written on the slow path, read by tests and diagnostics.
/// </summary>
public sealed class VirtioNetCounters
{
    private long _framesSent;
    private long _framesReceived;
    private long _sendRefused;
    private long _badTransmits;
    private long _receiveTooLarge;
    private long _receiveBuffersTooSmall;

    /// <summary>Frames the guest transmitted that the tap took.</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    /// <summary>Frames delivered into the guest's receive buffers.</summary>
    public long FramesReceived => Interlocked.Read(ref _framesReceived);

    /// <summary>Well-formed guest frames the tap refused (dropped, as on a wire).</summary>
    public long SendRefused => Interlocked.Read(ref _sendRefused);

    /// <summary>Transmit chains dropped for a bad header or a frame shorter than an Ethernet header or longer than <see cref="VirtioNetProtocol.MaxFrameBytes"/>.</summary>
    public long BadTransmits => Interlocked.Read(ref _badTransmits);

    /// <summary>Host frames dropped because they did not fit the guest's receive buffer (its chain was kept for the next frame).</summary>
    public long ReceiveTooLarge => Interlocked.Read(ref _receiveTooLarge);

    /// <summary>Receive chains returned empty because they could not even hold the packet header.</summary>
    public long ReceiveBuffersTooSmall => Interlocked.Read(ref _receiveBuffersTooSmall);

    internal void AddSent() => Interlocked.Increment(ref _framesSent);

    internal void AddReceived() => Interlocked.Increment(ref _framesReceived);

    internal void AddSendRefused() => Interlocked.Increment(ref _sendRefused);

    internal void AddBadTransmit() => Interlocked.Increment(ref _badTransmits);

    internal void AddReceiveTooLarge() => Interlocked.Increment(ref _receiveTooLarge);

    internal void AddReceiveBufferTooSmall() => Interlocked.Increment(ref _receiveBuffersTooSmall);
}
