using ActorVmm.Actors.Console;
using ActorVmm.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Devices;

/// <summary>
/// Host input a device actor has received but not yet put into the device's bounded <see cref="GuestInputQueue"/>,
/// in arrival order, each chunk with the sender to answer <see cref="ConsoleProtocol.InputAccepted"/> once all of it is
/// in the queue. A sender that waits for that answer (the console input pump) therefore has at most one chunk here.
/// Kept in the <see cref="DeviceCell"/>, so it survives restarts; touched only by the device's actor.
/// </summary>
public sealed class InputBacklog
{
    private readonly Queue<Chunk> _chunks = new();

    /// <summary>True when every received byte is in the queue.</summary>
    public bool IsEmpty => _chunks.Count == 0;

    /// <summary>Bytes waiting here.</summary>
    public long Count => _chunks.Sum(c => (long)c.Remaining.Length);

    /// <summary>Appends a chunk; <paramref name="replyTo"/> is told once it is all in the queue (nobody for no answer).</summary>
    public void Add(ReadOnlyMemory<byte> data, IActorRef replyTo) => _chunks.Enqueue(new Chunk(data, replyTo));

    /// <summary>Moves bytes into <paramref name="queue"/> as far as it has room, oldest first, and answers the chunks that got in.</summary>
    /// <returns>How many bytes moved.</returns>
    public int MoveInto(GuestInputQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        int moved = 0;
        while (_chunks.TryPeek(out var chunk))
        {
            int taken = queue.Add(chunk.Remaining.Span);
            moved += taken;
            chunk.Remaining = chunk.Remaining[taken..];
            if (!chunk.Remaining.IsEmpty)
            {
                break;
            }

            _chunks.Dequeue();
            if (!chunk.ReplyTo.IsNobody())
            {
                chunk.ReplyTo.Tell(ConsoleProtocol.InputAccepted.Instance, ActorRefs.NoSender);
            }
        }

        return moved;
    }

    private sealed class Chunk(ReadOnlyMemory<byte> data, IActorRef replyTo)
    {
        public ReadOnlyMemory<byte> Remaining { get; set; } = data;

        public IActorRef ReplyTo { get; } = replyTo;
    }
}
