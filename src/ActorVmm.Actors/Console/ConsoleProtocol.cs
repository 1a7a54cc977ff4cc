namespace ActorVmm.Actors.Console;

/// <summary>Messages of the guest console: the sink's flush and counters, and host input for a device.</summary>
/// <remarks>
/// Guest output does not travel in messages: devices append it to the VM's <see cref="ActorVmm.Devices.GuestOutputBuffer"/>
/// and the sink drains it when signalled.
/// </remarks>
public static class ConsoleProtocol
{
    /// <summary>
    /// Host bytes for a device's receiver (sent to the device actor, or through the supervisor). The device answers
    /// the sender with <see cref="InputAccepted"/> once all of them are in its bounded input queue, which may be only
    /// after the guest has read earlier input: a source that waits for the answer before sending more stays bounded.
    /// </summary>
    /// <param name="Data">The bytes, in typing order; owned by the message.</param>
    public sealed record Input(ReadOnlyMemory<byte> Data);

    /// <summary>Every byte of an <see cref="Input"/> is in the device's input queue: the sender may send the next.</summary>
    public sealed record InputAccepted
    {
        private InputAccepted()
        {
        }

        /// <summary>The single instance.</summary>
        public static InputAccepted Instance { get; } = new();
    }

    /// <summary>Asks the sink to write and flush everything accepted so far; answered with <see cref="Flushed"/>.</summary>
    public sealed record Flush
    {
        /// <summary>The single instance.</summary>
        public static Flush Instance { get; } = new();
    }

    /// <summary>Everything accepted before the <see cref="Flush"/> is written and flushed.</summary>
    /// <param name="PendingBytes">Bytes still pending because the target failed (0 when all were written).</param>
    public sealed record Flushed(long PendingBytes);

    /// <summary>Asks the sink how many bytes it accepted and wrote; answered with <see cref="SinkStatistics"/>.</summary>
    public sealed record GetStatistics
    {
        /// <summary>The single instance.</summary>
        public static GetStatistics Instance { get; } = new();
    }

    /// <summary>Sink counters.</summary>
    /// <param name="Accepted">Bytes devices put into the console's output buffer.</param>
    /// <param name="Written">Bytes written to the target.</param>
    /// <param name="Dropped">Bytes a device that could not wait offered while the buffer was full.</param>
    public sealed record SinkStatistics(long Accepted, long Written, long Dropped);
}
