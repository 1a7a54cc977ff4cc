using ActorVmm.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Console;

/// <summary>
/// Writes a VM's guest console output to its target (stdout, a file, or nowhere). Devices append to the VM's
/// <see cref="GuestOutputBuffer"/> on vCPU threads; the first byte into an idle buffer sends this actor one drain
/// signal, and the drain writes everything waiting in one or two writes and one flush. A byte leaves the buffer only
/// after the target took and flushed it, and the buffer outlives the actor: when the target throws, the actor is
/// restarted, reopens the target and writes the retained bytes first, so no accepted byte is lost or reordered.
/// While the target is slow, the buffer fills and the UARTs hold the guest back. Runs on the blocking-I/O dispatcher
/// because writes may block.
/// </summary>
public sealed class ConsoleSinkActor : ReceiveActor
{
    private readonly ConsoleTarget _target;
    private readonly GuestOutputBuffer _buffer;
    private Stream? _stream;

    /// <summary>Creates the sink over a buffer shared by all its incarnations.</summary>
    public ConsoleSinkActor(ConsoleTarget target, GuestOutputBuffer buffer)
    {
        _target = target ?? throw new ArgumentNullException(nameof(target));
        _buffer = buffer ?? throw new ArgumentNullException(nameof(buffer));
        Receive<DrainNow>(_ => Drain());
        Receive<ConsoleProtocol.Flush>(_ =>
        {
            Drain();
            Sender.Tell(new ConsoleProtocol.Flushed(_buffer.PendingCount));
        });
        Receive<ConsoleProtocol.GetStatistics>(_ => Sender.Tell(new ConsoleProtocol.SinkStatistics(_buffer.Accepted, _buffer.Consumed, _buffer.Dropped)));
    }

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

    private void Drain()
    {
        if (_stream is null)
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

        // Consume only after the target took and flushed the bytes: a throw leaves them pending for the next incarnation.
        _stream.Write(first.Span);
        if (!second.IsEmpty)
        {
            _stream.Write(second.Span);
        }

        _stream.Flush();
        _buffer.Consume(count);
    }

    /// <summary>The buffer's drain signal.</summary>
    private sealed record DrainNow
    {
        public static DrainNow Instance { get; } = new();
    }
}
