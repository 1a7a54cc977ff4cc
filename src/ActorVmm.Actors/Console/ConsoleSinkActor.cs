using ActorVmm.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Console;

/// <summary>
/// Writes a VM's guest console output to its target (stdout, a file, or nowhere). Devices append to the VM's
/// <see cref="GuestOutputBuffer"/> on vCPU threads; the first byte into an idle buffer sends this actor one drain
/// signal, and a drain writes everything waiting in one or two writes and one flush. A byte leaves the buffer only
/// after the target took and flushed it, and the buffer outlives the actor: when the target throws, the actor is
/// restarted, reopens the target and writes the retained bytes first, so no accepted byte is lost or reordered.
/// While the target is slow, the buffer fills and the UARTs hold the guest back.
/// </summary>
/// <remarks>
/// A drain signal opens a short batching window (<see cref="BatchWindow"/>) before the write, unless the buffer is
/// already half full or a flush waits: a guest printing through a polled UART appends one byte per port exit, and a
/// drain per byte would wake this actor, a write task and its reply for every character, and on a slow vCPU (nested
/// KVM, where every host thread switch is expensive) that churn competes with the vCPU itself.
/// One write is in flight at a time, off the actor's thread, and comes back as a message: a terminal nobody reads
/// blocks that write, never the actor, which still answers, stops with its VM and lets the actor system shut down.
/// </remarks>
public sealed class ConsoleSinkActor : ReceiveActor, IWithTimers
{
    /// <summary>How long bytes may wait for more to join them before they are written; console output stays interactive.</summary>
    public static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(20);

    private const string BatchTimer = "batch";

    private readonly ConsoleTarget _target;
    private readonly GuestOutputBuffer _buffer;
    private readonly List<(IActorRef ReplyTo, long UpTo)> _flushes = [];
    private Stream? _stream;
    private Guid? _writeInFlight;

    /// <summary>Creates the sink over a buffer shared by all its incarnations.</summary>
    public ConsoleSinkActor(ConsoleTarget target, GuestOutputBuffer buffer)
    {
        _target = target ?? throw new ArgumentNullException(nameof(target));
        _buffer = buffer ?? throw new ArgumentNullException(nameof(buffer));
        Receive<DrainNow>(_ => OnDrainSignal());
        Receive<BatchWindowEnded>(_ => StartWrite());
        Receive<WriteDone>(OnWriteDone);
        Receive<WriteFailed>(failed =>
        {
            if (failed.Write == _writeInFlight)
            {
                // The bytes stay in the buffer; the restarted sink writes them first.
                throw new ConsoleSinkException(_target.Description, failed.Exception);
            }
        });
        Receive<ConsoleProtocol.Flush>(_ =>
        {
            _flushes.Add((Sender, _buffer.Accepted));
            StartWrite();
            AnswerFlushes();
        });
        Receive<ConsoleProtocol.GetStatistics>(_ => Sender.Tell(new ConsoleProtocol.SinkStatistics(_buffer.Accepted, _buffer.Consumed, _buffer.Dropped)));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of a sink draining <paramref name="buffer"/>; the buffer is captured so restarts reuse it.</summary>
    public static Props Props(ConsoleTarget target, GuestOutputBuffer buffer) =>
        Akka.Actor.Props.Create(() => new ConsoleSinkActor(target, buffer));

    /// <inheritdoc />
    protected override void PreStart()
    {
        try
        {
            _stream = _target.Open();
        }
        catch (Exception ex)
        {
            throw new ConsoleSinkException(_target.Description, ex);
        }

        // After a restart the bytes the failed incarnation had not written are signalled at once and go out first.
        var self = Self;
        _buffer.SetDrainSignal(() => self.Tell(DrainNow.Instance, ActorRefs.NoSender));
    }

    /// <inheritdoc />
    protected override bool AroundReceive(Receive receive, object message)
    {
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (Exception ex) when (ex is not ConsoleSinkException)
        {
            throw new ConsoleSinkException(_target.Description, ex);
        }
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        try
        {
            _stream?.Dispose();
        }
        catch (IOException)
        {
            // The target is already broken; the pending bytes stay in the buffer.
        }

        _stream = null;
    }

    private void OnDrainSignal()
    {
        if (_writeInFlight is not null)
        {
            // Its completion picks these bytes up.
            return;
        }

        if (_flushes.Count > 0 || _buffer.PastHalf)
        {
            Timers.Cancel(BatchTimer);
            StartWrite();
            return;
        }

        if (Timers.IsTimerActive(BatchTimer))
        {
            // The open window picks these bytes up.
            return;
        }

        Timers.StartSingleTimer(BatchTimer, BatchWindowEnded.Instance, BatchWindow);
    }

    private void StartWrite()
    {
        if (_writeInFlight is not null || _stream is null)
        {
            return;
        }

        // Clear the signal before looking, so a byte appended after the look signals again.
        _buffer.BeginDrain();
        int count = _buffer.Peek(out var first, out var second);
        if (count == 0)
        {
            return;
        }

        // The two runs stay valid until Consume: only this actor frees ring space, and only after the write.
        var stream = _stream;
        var write = Guid.NewGuid();
        _writeInFlight = write;
        Task.Run(() =>
        {
            stream.Write(first.Span);
            if (!second.IsEmpty)
            {
                stream.Write(second.Span);
            }

            stream.Flush();
        }).PipeTo(Self, success: () => new WriteDone(write, count), failure: ex => new WriteFailed(write, ex));
    }

    private void OnWriteDone(WriteDone done)
    {
        if (done.Write != _writeInFlight)
        {
            return;
        }

        _writeInFlight = null;
        _buffer.Consume(done.Count);
        AnswerFlushes();

        // What arrived during the write signalled while it was in flight: it gets its own window now.
        if (_buffer.PendingCount > 0)
        {
            OnDrainSignal();
        }
    }

    private void AnswerFlushes()
    {
        long written = _buffer.Consumed;
        _flushes.RemoveAll(flush =>
        {
            if (written < flush.UpTo)
            {
                return false;
            }

            // A flush told without a sender (fire-and-forget) has nobody to answer: no dead letter.
            if (!flush.ReplyTo.IsNobody())
            {
                flush.ReplyTo.Tell(new ConsoleProtocol.Flushed(_buffer.PendingCount));
            }

            return true;
        });
    }

    /// <summary>The buffer's drain signal.</summary>
    private sealed record DrainNow
    {
        public static DrainNow Instance { get; } = new();
    }

    /// <summary>The batching window after a drain signal has passed: write what has gathered.</summary>
    private sealed record BatchWindowEnded
    {
        public static BatchWindowEnded Instance { get; } = new();
    }

    /// <summary>A write finished: its bytes can leave the buffer.</summary>
    private sealed record WriteDone(Guid Write, int Count);

    /// <summary>A write threw: the target failed.</summary>
    private sealed record WriteFailed(Guid Write, Exception Exception);
}
