namespace ActorVmm.Actors.Devices;

/// <summary>
/// A device that receives host console input (a UART's receiver). Called only on the device's
/// actor; the device takes what fits in its receiver and posts
/// <see cref="DeviceProtocol.InputSpaceAvailable"/> to its actor when room frees up.
/// </summary>
public interface IConsoleInputDevice
{
    /// <summary>Offers bytes in order; returns how many leading bytes were taken.</summary>
    int Offer(ReadOnlySpan<byte> bytes);
}
