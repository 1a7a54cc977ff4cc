namespace ActorVmm.Actors.Console;

/// <summary>Messages of the guest console: output to the sink, input to a device.</summary>
public static class ConsoleProtocol
{
    /// <summary>Bytes the guest wrote, for the console sink. The array is owned by the message.</summary>
    /// <param name="Data">The bytes, in guest order.</param>
    public sealed record Output(byte[] Data);

    /// <summary>Host bytes for a device's receiver (sent to the device actor, or through the supervisor).</summary>
    /// <param name="Data">The bytes, in typing order.</param>
    public sealed record Input(ReadOnlyMemory<byte> Data);

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
    /// <param name="Accepted">Bytes accepted from devices.</param>
    /// <param name="Written">Bytes written to the target.</param>
    /// <param name="Restarts">Times the sink restarted after its target failed.</param>
    public sealed record SinkStatistics(long Accepted, long Written, long Restarts);
}
