namespace ActorVmm.Host.Terminal;

/// <summary>
/// A write-only stream that copies every write, once and in order, to several targets (the terminal and
/// --console-log) and flushes each. A target that throws is dropped at once and reported once through the failure
/// callback; the others keep getting every byte, so a failing copy can neither repeat nor lose a byte of another.
/// Write and Flush therefore never throw, and the console sink above never restarts because of a target.
/// </summary>
public sealed class TeeStream : Stream
{
    private readonly List<TeeTarget> _targets;
    private readonly Action<TeeTarget, Exception> _onFailure;
    private readonly Lock _lock = new();

    /// <summary>Creates a tee over <paramref name="targets"/> (not owned: the caller disposes their streams).</summary>
    /// <param name="targets">Where bytes go, in write order.</param>
    /// <param name="onFailure">Told once per target that failed, with why, after it was dropped. Called under the tee's lock: it must not write to the tee.</param>
    public TeeStream(IEnumerable<TeeTarget> targets, Action<TeeTarget, Exception> onFailure)
    {
        ArgumentNullException.ThrowIfNull(targets);
        _targets = [.. targets];
        _onFailure = onFailure ?? throw new ArgumentNullException(nameof(onFailure));
    }

    /// <summary>The targets still written to.</summary>
    public IReadOnlyList<TeeTarget> Targets
    {
        get
        {
            lock (_lock)
            {
                return [.. _targets];
            }
        }
    }

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
            for (int i = 0; i < _targets.Count; i++)
            {
                var target = _targets[i];
                try
                {
                    target.Stream.Write(buffer);
                    target.Stream.Flush();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException or UnauthorizedAccessException)
                {
                    Drop(i--, ex);
                }
            }
        }
    }

    /// <inheritdoc />
    public override void Flush()
    {
        lock (_lock)
        {
            for (int i = 0; i < _targets.Count; i++)
            {
                try
                {
                    _targets[i].Stream.Flush();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                {
                    Drop(i--, ex);
                }
            }
        }
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    private void Drop(int index, Exception why)
    {
        var target = _targets[index];
        _targets.RemoveAt(index);
        _onFailure(target, why);
    }
}

/// <summary>One target of a <see cref="TeeStream"/>.</summary>
/// <param name="Name">For reports ("stdout", the log file's path).</param>
/// <param name="Stream">Where the bytes go.</param>
public sealed record TeeTarget(string Name, Stream Stream);
