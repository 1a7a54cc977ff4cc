namespace ActorVmm.Actors.Devices.Serial;

/// <summary>
/// Where a UART's transmitted bytes go. Called synchronously, under the device's lock, on the vCPU
/// thread that wrote THR: an implementation must not block (hand the byte to a channel or an actor).
/// Every byte the guest sees accepted has already left the UART, so a later device failure loses nothing.
/// </summary>
public interface ISerialOutput
{
    /// <summary>Takes one transmitted byte.</summary>
    void Write(byte value);
}

/// <summary>An output that discards every byte (a UART with nothing attached).</summary>
public sealed class NullSerialOutput : ISerialOutput
{
    /// <summary>The shared instance.</summary>
    public static readonly NullSerialOutput Instance = new();

    private NullSerialOutput()
    {
    }

    /// <inheritdoc />
    public void Write(byte value)
    {
    }
}
