namespace ActorVmm.Devices;

/// <summary>
/// Where a device puts bytes the guest wrote to a console. Implementations copy the bytes and
/// return at once: it is called on vCPU threads.
/// </summary>
public interface IGuestOutput
{
    /// <summary>Accepts bytes; once this returns they are owned by the sink and survive the device.</summary>
    void Write(ReadOnlySpan<byte> bytes);
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
