namespace ActorVmm.Devices.Virtio.Block;

/// <summary>Where a raw image's reads and writes run.</summary>
public enum BlockIoMode
{
    /// <summary>On the thread pool: the device's slow path submits and moves on, several requests are in flight at once.</summary>
    ThreadPool,

    /// <summary>On the caller (the device's slow path, under the device lock), as Firecracker's synchronous engine: one request at a time, no thread hop.</summary>
    Inline,
}
