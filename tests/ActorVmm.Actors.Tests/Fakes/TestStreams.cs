namespace ActorVmm.Actors.Tests.Fakes;

/// <summary>A write-only stream that keeps what it was given, shared across reopenings.</summary>
public class CollectingStream : Stream
{
    private readonly List<byte> _bytes = [];
    private readonly Lock _lock = new();

    public byte[] Bytes
    {
        get
        {
            lock (_lock)
            {
                return [.. _bytes];
            }
        }
    }

    public int WriteCalls { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_lock)
        {
            WriteCalls++;
            BeforeWrite(WriteCalls);
            _bytes.AddRange(buffer);
        }
    }

    /// <summary>Called before a write is kept; throw to fail it (nothing of it is kept).</summary>
    protected virtual void BeforeWrite(int call)
    {
    }

    // The sink disposes the stream on restart; the collected bytes outlive that (Stream's own Dispose frees nothing here).
    protected override void Dispose(bool disposing) => base.Dispose(disposing);
}

/// <summary>A collecting stream whose chosen write calls throw an IOException.</summary>
public sealed class FailingStream(IReadOnlySet<int> failingCalls) : CollectingStream
{
    public int Failures { get; private set; }

    protected override void BeforeWrite(int call)
    {
        if (failingCalls.Contains(call))
        {
            Failures++;
            throw new IOException($"write {call} failed on purpose");
        }
    }
}

/// <summary>A collecting stream whose writes block until the test opens the gate, like a terminal nobody reads.</summary>
public sealed class GatedStream : CollectingStream, IDisposable
{
    private readonly ManualResetEventSlim _open = new();

    /// <summary>Lets every write through from now on.</summary>
    public void Open() => _open.Set();

    protected override void BeforeWrite(int call) => _open.Wait();

    void IDisposable.Dispose()
    {
        _open.Set();
        _open.Dispose();
    }
}
