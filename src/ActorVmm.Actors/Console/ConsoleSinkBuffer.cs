using System.Buffers;

namespace ActorVmm.Actors.Console;

/// <summary>
/// The bytes a console sink accepted and has not yet written, plus its counters. Created once per
/// sink outside the actor instance and handed to every incarnation, so a sink that crashes in the
/// middle of a write resumes with exactly the bytes it had not written: nothing accepted is lost.
/// Touched only by the sink actor (one message at a time), so it needs no lock.
/// </summary>
public sealed class ConsoleSinkBuffer
{
    private readonly ArrayBufferWriter<byte> _pending = new();

    /// <summary>Bytes accepted from devices so far.</summary>
    public long Accepted { get; private set; }

    /// <summary>Bytes written to the target so far.</summary>
    public long Written { get; private set; }

    /// <summary>Restarts of the sink after its target failed.</summary>
    public long Restarts { get; internal set; }

    /// <summary>Bytes accepted but not yet written.</summary>
    public int PendingCount => _pending.WrittenCount;

    /// <summary>The bytes not yet written, oldest first.</summary>
    public ReadOnlySpan<byte> Pending => _pending.WrittenSpan;

    /// <summary>Accepts bytes at the end of the pending run.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        _pending.Write(bytes);
        Accepted += bytes.Length;
    }

    /// <summary>Marks every pending byte as written (after the target took them and flushed).</summary>
    public void CommitAll()
    {
        Written += _pending.WrittenCount;
        _pending.ResetWrittenCount();
    }
}
