using ActorVmm.Actors.Devices.Serial;

namespace ActorVmm.Host.Devices;

/// <summary>COM1's transmitter into a stream (the terminal, a console log); null discards.</summary>
public sealed class SerialOutputStream : ISerialOutput
{
    private readonly Stream? _stream;

    /// <summary>Writes transmitted bytes to <paramref name="stream"/> (not owned).</summary>
    public SerialOutputStream(Stream? stream) => _stream = stream;

    /// <inheritdoc />
    public void Write(byte value)
    {
        // Called on the vCPU thread under the UART's lock; the stream copies the byte (and flushes, for the terminal).
        _stream?.Write([value]);
    }
}
