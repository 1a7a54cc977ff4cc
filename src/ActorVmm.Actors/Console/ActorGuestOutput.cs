using ActorVmm.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Console;

/// <summary>
/// Guest output as devices see it: copies the bytes into a message for the console sink. A Tell
/// never blocks, so it is safe on vCPU threads; Tells from one thread arrive in order.
/// </summary>
public sealed class ActorGuestOutput : IGuestOutput
{
    private readonly IActorRef _sink;

    /// <summary>Sends output to <paramref name="sink"/>.</summary>
    public ActorGuestOutput(IActorRef sink) => _sink = sink ?? throw new ArgumentNullException(nameof(sink));

    /// <inheritdoc />
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (!bytes.IsEmpty)
        {
            _sink.Tell(new ConsoleProtocol.Output(bytes.ToArray()), ActorRefs.NoSender);
        }
    }
}
