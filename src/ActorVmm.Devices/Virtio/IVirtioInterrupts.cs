namespace ActorVmm.Devices.Virtio;

/// <summary>
/// How the device core notifies the driver; each transport maps it to its own mechanism. virtio-mmio: a bit in
/// InterruptStatus and its interrupt line. virtio-pci: the queue's or the configuration's MSI-X vector
/// (<see cref="VirtioDeviceCore.QueueMsixVector"/>, <see cref="VirtioDeviceCore.ConfigMsixVector"/>), or INTx with the
/// ISR status bits. Called under the core's lock, on the slow path or a vCPU thread: must not block.
/// </summary>
public interface IVirtioInterrupts
{
    /// <summary>A used-buffer notification for <paramref name="queue"/> is due.</summary>
    void NotifyUsedBuffers(int queue);

    /// <summary>A configuration-change notification is due (a configuration field changed, or DEVICE_NEEDS_RESET was set).</summary>
    void NotifyConfigurationChange();
}
