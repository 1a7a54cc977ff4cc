using System.IO.Pipes;
using ActorVmm.Host.Terminal;
using Microsoft.Win32.SafeHandles;

namespace ActorVmm.Host.Tests.Terminal;

public sealed class TeeStreamTests
{
    private const int Chunks = 10;
    private const int ChunkSize = 100;

    [Fact]
    public void A_target_that_fails_is_dropped_and_reported_once_while_the_other_gets_every_byte_exactly_once()
    {
        var terminal = new MemoryStream();
        var log = new FailingAfterStream(writesBeforeFailing: 3);
        var failures = new List<(TeeTarget Target, Exception Why)>();
        using var tee = new TeeStream([new TeeTarget("stdout", terminal), new TeeTarget("console.log", log)], (target, why) => failures.Add((target, why)));
        byte[] expected = [.. Enumerable.Range(0, Chunks * ChunkSize).Select(i => (byte)i)];

        for (int c = 0; c < Chunks; c++)
        {
            tee.Write(expected, c * ChunkSize, ChunkSize);
        }

        Assert.Equal(expected, terminal.ToArray());
        var failure = Assert.Single(failures);
        Assert.Equal("console.log", failure.Target.Name);
        Assert.IsType<IOException>(failure.Why);
        Assert.Equal("stdout", Assert.Single(tee.Targets).Name);
        Assert.Equal(expected[..(3 * ChunkSize)], log.Kept.ToArray());
    }

    [Fact]
    public void A_target_whose_flush_fails_is_dropped_too()
    {
        var terminal = new MemoryStream();
        var failures = new List<TeeTarget>();
        using var tee = new TeeStream([new TeeTarget("stdout", terminal), new TeeTarget("full", new FailingAfterStream(0, failFlush: true))], (target, _) => failures.Add(target));

        tee.Write("abc"u8);
        tee.Write("def"u8);

        Assert.Equal("abcdef"u8.ToArray(), terminal.ToArray());
        Assert.Equal("full", Assert.Single(failures).Name);
    }

    [Fact]
    public void A_write_to_a_pipe_whose_reader_has_gone_is_recognised_as_a_broken_pipe()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        pipe.DisposeLocalCopyOfClientHandle();

        // The same kind of stream HostConsole writes stdout with: a FileStream over the descriptor, unbuffered.
        using var writer = new FileStream(new SafeFileHandle(pipe.SafePipeHandle.DangerousGetHandle(), ownsHandle: false), FileAccess.Write, bufferSize: 0);
        var failure = Assert.Throws<IOException>(() => writer.Write("lost"u8));

        Assert.True(HostConsole.IsBrokenPipe(failure), $"HResult {failure.HResult}: {failure.Message}");
        Assert.False(HostConsole.IsBrokenPipe(new IOException("No space left on device", 28)));
    }

    /// <summary>Keeps the first writes, then throws as a full disk does.</summary>
    private sealed class FailingAfterStream(int writesBeforeFailing, bool failFlush = false) : Stream
    {
        private int _writes;

        public MemoryStream Kept { get; } = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
            if (failFlush)
            {
                throw new IOException("No space left on device");
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_writes++ >= writesBeforeFailing && !failFlush)
            {
                throw new IOException("No space left on device");
            }

            Kept.Write(buffer);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
