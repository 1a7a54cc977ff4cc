using Akka.Actor;

namespace ActorVmm.Actors.Console;

/// <summary>
/// Writes a VM's guest console output to its target (stdout, a file, or nowhere), one write and
/// flush per burst of output messages, so the output appears promptly without a syscall per byte. Bytes are first appended to a
/// <see cref="ConsoleSinkBuffer"/> that outlives the actor: when the target throws, the actor is
/// restarted, reopens the target and writes the retained bytes first, so no accepted byte is lost
/// or reordered. Runs on the blocking-I/O dispatcher because writes may block.
/// </summary>
public sealed class ConsoleSinkActor : ReceiveActor
{
    private readonly ConsoleTarget _target;
    private readonly ConsoleSinkBuffer _buffer;
    private Stream? _stream;
    private bool _drainScheduled;

    /// <summary>Creates the sink over a buffer shared by all its incarnations.</summary>
    public ConsoleSinkActor(ConsoleTarget target, ConsoleSinkBuffer buffer)
    {
        _target = target ?? throw new ArgumentNullException(nameof(target));
        _buffer = buffer ?? throw new ArgumentNullException(nameof(buffer));
        Receive<ConsoleProtocol.Output>(output =>
        {
            _buffer.Append(output.Data);

            // Coalesce a burst: outputs already queued are appended before the one drain this schedules.
            if (!_drainScheduled)
            {
                _drainScheduled = true;
                Self.Tell(DrainNow.Instance);
            }
        });
        Receive<DrainNow>(_ =>
        {
            _drainScheduled = false;
            Drain();
        });
        Receive<ConsoleProtocol.Flush>(_ =>
        {
            Drain();

            // A flush told without a sender (fire-and-forget) has nobody to answer: no dead letter.
            if (!Sender.IsNobody())
            {
                Sender.Tell(new ConsoleProtocol.Flushed(_buffer.PendingCount));
            }
        });
        Receive<ConsoleProtocol.GetStatistics>(_ => Sender.Tell(new ConsoleProtocol.SinkStatistics(_buffer.Accepted, _buffer.Written, _buffer.Restarts)));
    }

    /// <summary>Props of a sink with a fresh buffer; the buffer is captured so restarts reuse it.</summary>
    public static Props Props(ConsoleTarget target) => Props(target, new ConsoleSinkBuffer());

    /// <summary>Props of a sink over a given buffer (tests inspect it).</summary>
    public static Props Props(ConsoleTarget target, ConsoleSinkBuffer buffer) =>
        Akka.Actor.Props.Create(() => new ConsoleSinkActor(target, buffer));

    /// <inheritdoc />
    protected override void PreStart()
    {
        try
        {
            _stream = _target.Open();

            // After a restart the bytes the failed incarnation had not written go out first.
            Drain();
        }
        catch (Exception ex)
        {
            throw new ConsoleSinkException(_target.Description, ex);
        }
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
    protected override void PreRestart(Exception reason, object message)
    {
        _buffer.Restarts++;
        base.PreRestart(reason, message);
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

    private sealed record DrainNow
    {
        public static DrainNow Instance { get; } = new();
    }

    private void Drain()
    {
        if (_buffer.PendingCount == 0 || _stream is null)
        {
            return;
        }

        // Commit only after the target took and flushed the bytes: a throw leaves them pending.
        _stream.Write(_buffer.Pending);
        _stream.Flush();
        _buffer.CommitAll();
    }
}
