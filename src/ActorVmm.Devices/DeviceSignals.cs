namespace ActorVmm.Devices;

/// <summary>Signals devices post to their own slow path, and the answers of <see cref="ISlowPathDevice"/>.</summary>
public static class DeviceSignals
{
    /// <summary>A device's receiver has room again: its slow path lets it take more waiting input (<see cref="IConsoleInputDevice"/>).</summary>
    public sealed record InputSpaceAvailable
    {
        private InputSpaceAvailable()
        {
        }

        /// <summary>The single instance.</summary>
        public static InputSpaceAvailable Instance { get; } = new();
    }

    /// <summary>
    /// A bounded guest output has room again for a device whose transmitter is holding bytes (see
    /// <see cref="IGuestOutputWaiter"/>): its slow path completes the transmission.
    /// </summary>
    public sealed record OutputSpaceAvailable
    {
        private OutputSpaceAvailable()
        {
        }

        /// <summary>The single instance.</summary>
        public static OutputSpaceAvailable Instance { get; } = new();
    }

    /// <summary>What <see cref="ISlowPathDevice.OnSlowPath"/> returns for a message it does not handle.</summary>
    public sealed record NotUnderstood
    {
        private NotUnderstood()
        {
        }

        /// <summary>The single instance.</summary>
        public static NotUnderstood Instance { get; } = new();
    }
}
