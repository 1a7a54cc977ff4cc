using Akka.Event;

namespace ActorVmm.Actors.Devices;

/// <summary>Messages between a device actor and its supervisor, and the device actor's own timer messages.</summary>
public static class DeviceProtocol
{
    /// <summary>
    /// The supervisor installed a new instance in the device's cell (the first one, or a rebuild after a hot-path
    /// failure): the actor moves its slow-path wiring (timer subscription, waiting input) to it.
    /// </summary>
    /// <remarks>
    /// A VM that ends right after it started can stop a device actor before its first Attach is read; an Attach for a
    /// stopped actor has nothing left to wire, so it is a suppressed dead letter, not a reported one.
    /// </remarks>
    /// <param name="Generation">The cell's generation of that instance; an older one is ignored.</param>
    public sealed record Attach(int Generation) : IDeadLetterSuppression;

    /// <summary>A timed device's timer fired: deliver its due events and re-arm.</summary>
    public sealed record Tick
    {
        private Tick()
        {
        }

        /// <summary>The single instance.</summary>
        public static Tick Instance { get; } = new();
    }

    /// <summary>The guest reprogrammed a timed device: ask it again when its next event is due.</summary>
    public sealed record Reschedule
    {
        private Reschedule()
        {
        }

        /// <summary>The single instance.</summary>
        public static Reschedule Instance { get; } = new();
    }
}
