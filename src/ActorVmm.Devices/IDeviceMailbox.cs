namespace ActorVmm.Devices;

/// <summary>
/// A device's way to its own slow path (its actor in the actor layer; a queue in tests): posting never blocks,
/// so it is safe from a trap handler on a vCPU thread. What is posted is data (a signal record), never a live object.
/// </summary>
public interface IDeviceMailbox
{
    /// <summary>Queues <paramref name="message"/> for the device's slow path and returns at once.</summary>
    void Post(object message);
}
