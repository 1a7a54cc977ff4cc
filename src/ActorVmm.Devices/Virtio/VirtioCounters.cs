namespace ActorVmm.Devices.Virtio;

/// <summary>What a virtio device refused or reported, counted per device (read by tests and diagnostics). Thread-safe.</summary>
public sealed class VirtioCounters
{
    private long _malformedQueues;
    private long _deviceErrors;
    private long _badRequests;
    private long _ignoredRegisterAccesses;
    private long _refusedFeatures;
    private long _notifications;
    private long _interrupts;

    /// <summary>Rings or descriptor chains that broke a virtqueue rule (each set DEVICE_NEEDS_RESET).</summary>
    public long MalformedQueues => Interlocked.Read(ref _malformedQueues);

    /// <summary>Times the device set DEVICE_NEEDS_RESET (malformed queues, guest memory errors, untrusted restored state).</summary>
    public long DeviceErrors => Interlocked.Read(ref _deviceErrors);

    /// <summary>Requests a device answered with an error of its own (bad header, out-of-range sector), the queue staying healthy.</summary>
    public long BadRequests => Interlocked.Read(ref _badRequests);

    /// <summary>Register accesses ignored: wrong width or alignment, read-only or write-only misuse, writes the current state forbids.</summary>
    public long IgnoredRegisterAccesses => Interlocked.Read(ref _ignoredRegisterAccesses);

    /// <summary>FEATURES_OK writes refused because of the features the driver accepted.</summary>
    public long RefusedFeatures => Interlocked.Read(ref _refusedFeatures);

    /// <summary>Queue notifications received from the driver.</summary>
    public long Notifications => Interlocked.Read(ref _notifications);

    /// <summary>Notifications (used-buffer and configuration-change) sent to the driver.</summary>
    public long Interrupts => Interlocked.Read(ref _interrupts);

    internal long AddMalformedQueue() => Interlocked.Increment(ref _malformedQueues);

    internal long AddDeviceError() => Interlocked.Increment(ref _deviceErrors);

    internal long AddBadRequest() => Interlocked.Increment(ref _badRequests);

    internal long AddIgnoredRegisterAccess() => Interlocked.Increment(ref _ignoredRegisterAccesses);

    internal long AddRefusedFeatures() => Interlocked.Increment(ref _refusedFeatures);

    internal void AddNotification() => Interlocked.Increment(ref _notifications);

    internal void AddInterrupt() => Interlocked.Increment(ref _interrupts);

    /// <summary>True for the 1st, 2nd, 4th, 8th… occurrence: how often a guest-triggered event is logged, so a guest cannot flood the log.</summary>
    internal static bool ShouldLog(long occurrence) => occurrence > 0 && (occurrence & (occurrence - 1)) == 0;
}
