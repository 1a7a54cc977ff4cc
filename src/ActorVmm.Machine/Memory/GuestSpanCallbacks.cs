namespace ActorVmm.Machine.Memory;

/// <summary>Reads guest RAM in place during a scoped access; <paramref name="bytes"/> is valid only during the call.</summary>
/// <typeparam name="TResult">What the reader computes.</typeparam>
public delegate TResult GuestSpanReader<out TResult>(ReadOnlySpan<byte> bytes);

/// <summary>Writes guest RAM in place during a scoped access; <paramref name="bytes"/> is valid only during the call.</summary>
public delegate void GuestSpanWriter(Span<byte> bytes);
