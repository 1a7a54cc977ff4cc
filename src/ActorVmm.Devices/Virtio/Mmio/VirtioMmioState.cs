namespace ActorVmm.Devices.Virtio.Mmio;

/// <summary>
/// A virtio-mmio device's guest-visible state: the device core's (features, status, queues with their ring positions,
/// configuration space) plus the transport's own registers. The window, interrupt line and device backend are wiring.
/// </summary>
/// <param name="Core">The transport-independent state.</param>
/// <param name="InterruptStatus">InterruptStatus bits not yet acknowledged.</param>
/// <param name="DeviceFeaturesSelect">DeviceFeaturesSel.</param>
/// <param name="DriverFeaturesSelect">DriverFeaturesSel.</param>
/// <param name="QueueSelect">QueueSel.</param>
/// <param name="SharedMemorySelect">SHMSel.</param>
public sealed record VirtioMmioState(
    VirtioCoreState Core,
    uint InterruptStatus,
    uint DeviceFeaturesSelect,
    uint DriverFeaturesSelect,
    uint QueueSelect,
    uint SharedMemorySelect) : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        Require(Core is not null, "the device core state is missing");
        Core!.Validate(Require);
        Require((InterruptStatus & ~VirtioMmioRegisters.InterruptBits) == 0, $"InterruptStatus 0x{InterruptStatus:X} has bits no event sets");
        Require(Core.Config.Length <= VirtioMmioRegisters.MaxConfigLength, $"configuration space of {Core.Config.Length} bytes does not fit the window");
    }
}
