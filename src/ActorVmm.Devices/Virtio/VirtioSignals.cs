namespace ActorVmm.Devices.Virtio;

/// <summary>Signals a virtio device posts to its own slow path (<see cref="DeviceContext.Post"/>).</summary>
public static class VirtioSignals
{
    /// <summary>
    /// The driver notified queue <paramref name="Queue"/> (a QueueNotify write; a doorbell posts the same signal). The
    /// queue is worked on the device's slow path, never on the vCPU that wrote the register. Notifications may be
    /// coalesced or spurious: each one makes the device take everything available.
    /// </summary>
    /// <param name="Queue">The queue index as the driver wrote it (checked by the device).</param>
    public sealed record QueueNotified(int Queue);
}
