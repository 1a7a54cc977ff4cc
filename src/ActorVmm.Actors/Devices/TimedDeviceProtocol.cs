namespace ActorVmm.Actors.Devices;

/// <summary>Messages of the <see cref="TimedDeviceActor"/>.</summary>
public static class TimedDeviceProtocol
{
    /// <summary>The timer fired: deliver the device's due events and re-arm.</summary>
    public sealed record Tick
    {
        private Tick()
        {
        }

        /// <summary>The single instance.</summary>
        public static Tick Instance { get; } = new();
    }

    /// <summary>The guest reprogrammed the device: ask it again when its next event is due.</summary>
    public sealed record Reschedule
    {
        private Reschedule()
        {
        }

        /// <summary>The single instance.</summary>
        public static Reschedule Instance { get; } = new();
    }
}
