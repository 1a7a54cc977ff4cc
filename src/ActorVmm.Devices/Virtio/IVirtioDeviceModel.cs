using ActorVmm.Devices.Virtio.Queues;

namespace ActorVmm.Devices.Virtio;

/// <summary>
/// A virtio device type (block, entropy, console) without its transport: its ID, features, queues, configuration
/// space and what it does with the chains its queues carry. The <see cref="VirtioDeviceCore"/> owns negotiation,
/// status and queue set-up and calls the model under its lock; queue work (<see cref="ProcessQueue"/>,
/// <see cref="Resubmit"/>, <see cref="OnMessage"/>) runs on the device's slow path only. A model may throw
/// <see cref="VirtqueueException"/> for a malformed chain; the core turns it into DEVICE_NEEDS_RESET.
/// </summary>
public interface IVirtioDeviceModel
{
    /// <summary>The virtio device ID.</summary>
    VirtioDeviceType DeviceType { get; }

    /// <summary>Device-type feature bits offered (below bit 24; the core adds <see cref="VirtioFeatures.Offered"/>).</summary>
    ulong Features { get; }

    /// <summary>Number of virtqueues.</summary>
    int QueueCount { get; }

    /// <summary>Largest queue size the device accepts for every queue (a power of two up to 32768).</summary>
    ushort MaxQueueSize { get; }

    /// <summary>Bytes of device configuration space.</summary>
    int ConfigLength { get; }

    /// <summary>Reads configuration bytes; <paramref name="offset"/> and the length lie inside <see cref="ConfigLength"/> (checked by the core).</summary>
    void ReadConfig(int offset, Span<byte> destination);

    /// <summary>A driver wrote configuration bytes inside <see cref="ConfigLength"/>; read-only fields ignore it. Runs on a vCPU thread: never blocks.</summary>
    void WriteConfig(int offset, ReadOnlySpan<byte> source);

    /// <summary>Device-specific check of the features the driver accepted (already a subset of those offered, with VERSION_1).</summary>
    bool AcceptsFeatures(ulong driverFeatures);

    /// <summary>The driver set DRIVER_OK: <paramref name="host"/> gives the negotiated features, guest memory and the live queues.</summary>
    void Activate(IVirtioModelHost host);

    /// <summary>The driver notified <paramref name="queue"/> (or work may be waiting there): take and handle what it can.</summary>
    void ProcessQueue(Virtqueue queue);

    /// <summary>
    /// A chain the previous incarnation had taken and not returned when its state was captured: handle it again (a
    /// block request is re-executed, which is idempotent; an entropy buffer is refilled).
    /// </summary>
    void Resubmit(Virtqueue queue, DescriptorChain chain);

    /// <summary>A slow-path message other than a queue notification (an I/O completion); false when not understood.</summary>
    bool OnMessage(object message);

    /// <summary>
    /// The device was reset, or stopped because it needs a reset: drop queued work and forget the queues (work already
    /// handed to the host, such as a write in flight, may finish, but nothing reaches guest memory any more).
    /// </summary>
    void Reset();
}

/// <summary>What the core offers an active device model.</summary>
public interface IVirtioModelHost
{
    /// <summary>The features both sides agreed on.</summary>
    ulong NegotiatedFeatures { get; }

    /// <summary>Guest RAM (checked DMA).</summary>
    Machine.Memory.GuestDma Dma { get; }

    /// <summary>The live queue <paramref name="index"/>, or null when the driver did not enable it.</summary>
    Virtqueue? Queue(int index);

    /// <summary>Posts a message to the device's own slow path (an I/O completion); never blocks.</summary>
    void Post(object message);

    /// <summary>Counts a request the device refused as malformed at its own level (a bad header; not a ring error).</summary>
    void CountBadRequest(string reason);
}
