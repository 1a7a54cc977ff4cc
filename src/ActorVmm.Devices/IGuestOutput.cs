namespace ActorVmm.Devices;

/// <summary>
/// Where a device puts bytes the guest wrote to a console. Implementations copy the bytes and
/// return at once: it is called on vCPU threads.
/// </summary>
public interface IGuestOutput
{
    /// <summary>
    /// Accepts bytes from a caller that cannot wait; once this returns, the bytes taken are owned by the sink and
    /// survive the device. A bounded sink that is full drops what does not fit (and counts it).
    /// </summary>
    void Write(ReadOnlySpan<byte> bytes);

    /// <summary>
    /// Accepts as many bytes as there is room for and returns how many, so a device with a transmitter of its own
    /// keeps the rest and stays busy, as a UART does on a stalled line. When not all were taken,
    /// <paramref name="waiter"/> is told once that there is room again. A sink without a bound takes everything.
    /// </summary>
    int TryWrite(ReadOnlySpan<byte> bytes, IGuestOutputWaiter waiter)
    {
        Write(bytes);
        return bytes.Length;
    }
}

/// <summary>A device waiting for room in a bounded <see cref="IGuestOutput"/>.</summary>
public interface IGuestOutputWaiter
{
    /// <summary>
    /// There is room again. Called once per refused <see cref="IGuestOutput.TryWrite"/>, on the thread that drained
    /// the output (never a vCPU thread): implementations only hand over to their own slow path and must not block.
    /// </summary>
    void OnOutputSpaceAvailable();
}

/// <summary>Discards guest output.</summary>
public sealed class NullGuestOutput : IGuestOutput
{
    /// <summary>The shared instance.</summary>
    public static NullGuestOutput Instance { get; } = new();

    /// <inheritdoc />
    public void Write(ReadOnlySpan<byte> bytes)
    {
        // Nothing to do: the VM was configured without console output.
    }
}
