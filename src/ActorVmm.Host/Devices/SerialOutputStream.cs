using ActorVmm.Actors.Devices;

namespace ActorVmm.Host.Devices;

/// <summary>COM1's transmitter into a stream (the terminal, a console log) for the machine runner; null discards.</summary>
public sealed class SerialOutputStream : IGuestOutput
{
    private readonly Stream? _stream;

    /// <summary>Writes transmitted bytes to <paramref name="stream"/> (not owned).</summary>
    public SerialOutputStream(Stream? stream) => _stream = stream;

    /// <inheritdoc />
    public void Write(ReadOnlySpan<byte> bytes)
    {
        // Called on the vCPU thread under the UART's lock; the stream copies the bytes (and flushes, for the terminal).
        _stream?.Write(bytes);
    }
}
