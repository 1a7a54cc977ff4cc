namespace ActorVmm.Host.Control;

/// <summary>What <see cref="ControlLineReader.ReadLineAsync"/> found.</summary>
public enum ControlLineKind
{
    /// <summary>A complete line (its newline removed), or the last bytes before end of stream.</summary>
    Line = 0,

    /// <summary>The peer closed its side with nothing pending.</summary>
    End = 1,

    /// <summary>More than the limit arrived without a newline; the rest was not read.</summary>
    TooLong = 2,
}

/// <summary>
/// Splits a byte stream into request lines with a fixed buffer of limit + 1 bytes: a line longer
/// than the limit is reported as soon as its first byte past the limit arrives, so a peer cannot
/// make the host buffer more than that (StreamReader.ReadLine buffers the whole line first). Bytes
/// are not decoded here: a byte-order mark cannot switch the encoding.
/// </summary>
public sealed class ControlLineReader
{
    private const byte NewLine = (byte)'\n';
    private readonly Stream _stream;
    private readonly int _limit;
    private readonly byte[] _buffer;
    private int _start;
    private int _end;

    /// <summary>Reads lines of at most <paramref name="limit"/> bytes from <paramref name="stream"/>.</summary>
    public ControlLineReader(Stream stream, int limit)
    {
        _stream = stream ?? throw new ArgumentNullException(nameof(stream));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        _limit = limit;
        _buffer = new byte[limit + 1];
    }

    /// <summary>Reads the next line; the returned bytes are valid until the next call.</summary>
    public async ValueTask<(ControlLineKind Kind, ReadOnlyMemory<byte> Line)> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int newline = Array.IndexOf(_buffer, NewLine, _start, _end - _start);
            if (newline >= 0)
            {
                var line = _buffer.AsMemory(_start, newline - _start);
                _start = newline + 1;
                return line.Length > _limit ? (ControlLineKind.TooLong, default) : (ControlLineKind.Line, line);
            }

            if (_end - _start > _limit)
            {
                return (ControlLineKind.TooLong, default);
            }

            if (_start > 0)
            {
                // Keep the partial line at the front so the buffer always has room for limit + 1 bytes of it.
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                if (_end == _start)
                {
                    return (ControlLineKind.End, default);
                }

                var last = _buffer.AsMemory(_start, _end - _start);
                _start = _end;
                return (ControlLineKind.Line, last);
            }

            _end += read;
        }
    }
}
