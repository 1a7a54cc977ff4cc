namespace ActorVmm.Devices.Virtio.Queues;

/// <summary>
/// The driver broke a virtqueue rule (a malformed ring or descriptor chain). Raised before anything is touched that
/// the rule protects; the device core turns it into DEVICE_NEEDS_RESET and a configuration-change notification.
/// </summary>
public sealed class VirtqueueException : Exception
{
    /// <summary>Creates the exception for <paramref name="fault"/> with a description of the values involved.</summary>
    public VirtqueueException(VirtqueueFault fault, string message)
        : base(message)
    {
        Fault = fault;
    }

    /// <summary>Which rule was broken.</summary>
    public VirtqueueFault Fault { get; }
}
