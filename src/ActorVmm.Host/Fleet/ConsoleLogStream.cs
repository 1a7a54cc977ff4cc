namespace ActorVmm.Host.Fleet;

/// <summary>
/// A fleet VM's console log: buffered in memory and appended to its file when the buffer fills or
/// the stream is flushed/disposed, so a thousand VMs do not hold a thousand open file descriptors.
/// </summary>
public sealed class ConsoleLogStream : Stream
{
    /// <summary>Buffered bytes that trigger an append to the file.</summary>
    public const int FlushThreshold = 4096;

    private readonly string _path;
    private readonly MemoryStream _buffer = new();
    private readonly Lock _lock = new();

    private bool _created;

    /// <summary>A log at <paramref name="path"/>; the file is created (truncated) by the first flush, so starting a VM costs no file system call.</summary>
    public ConsoleLogStream(string path) => _path = path ?? throw new ArgumentNullException(nameof(path));

    /// <summary>The log file.</summary>
    public string Path => _path;

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
        lock (_lock)
        {
            long before = _buffer.Length;
            _buffer.Write(buffer);
            if (_buffer.Length >= FlushThreshold)
            {
                try
                {
                    FlushLocked();
                }
                catch
                {
                    // The caller keeps these bytes and writes them again (the console sink retries after a restart):
                    // holding them here too would put them in the log twice.
                    _buffer.SetLength(before);
                    throw;
                }
            }
        }
    }

    /// <inheritdoc />
    public override void Flush()
    {
        lock (_lock)
        {
            FlushLocked();
        }
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
            _buffer.Dispose();
        }

        base.Dispose(disposing);
    }

    private void FlushLocked()
    {
        if (_buffer.Length == 0 && _created)
        {
            return;
        }

        using (var file = new FileStream(_path, _created ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read))
        {
            _buffer.WriteTo(file);
        }

        _buffer.SetLength(0);
        _created = true;
    }
}
