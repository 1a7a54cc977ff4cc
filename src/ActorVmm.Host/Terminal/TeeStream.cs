namespace ActorVmm.Host.Terminal;

/// <summary>A write-only stream that copies every write to several streams (terminal and --console-log) and flushes each write.</summary>
public sealed class TeeStream : Stream
{
    private readonly Stream[] _targets;
    private readonly Lock _lock = new();

    /// <summary>Creates a tee over <paramref name="targets"/> (not owned: the caller disposes them).</summary>
    public TeeStream(params Stream[] targets) => _targets = targets ?? throw new ArgumentNullException(nameof(targets));

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // Guest output arrives a byte at a time from vCPU threads; flushing each write keeps the console live.
        lock (_lock)
        {
            foreach (var target in _targets)
            {
                target.Write(buffer);
                target.Flush();
            }
        }
    }

    /// <inheritdoc />
    public override void Flush()
    {
        lock (_lock)
        {
            foreach (var target in _targets)
            {
                target.Flush();
            }
        }
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();
}
