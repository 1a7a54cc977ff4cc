namespace ActorVmm.Devices;

/// <summary>
/// A device with slow-path work of its own. Its actor calls <see cref="OnSlowPath"/> on the actor's thread (never
/// a vCPU thread) for every message the device posted to itself through <see cref="DeviceContext.Post"/> and every
/// command sent to the device by name. An exception thrown here is a slow-path failure of the device.
/// </summary>
public interface ISlowPathDevice
{
    /// <summary>Handles one message; returns a reply for the sender, or null for none.</summary>
    /// <returns>The reply, or null. A message the device does not understand returns <see cref="DeviceSignals.NotUnderstood"/>.</returns>
    object? OnSlowPath(object message);
}
