using Akka.Actor;

namespace ActorVmm.Actors.Console;

/// <summary>
/// Feeds host bytes (stdin, a socket) to a guest device: a dedicated background thread blocks on
/// the source (never an actor or pool thread) and sends each chunk, in order, as
/// <see cref="ConsoleProtocol.Input"/> wrapped for its target — for example
/// <c>bytes =&gt; new SupervisorProtocol.SendToDevice("com1", bytes)</c> to a VM's supervisor. The
/// device actor queues the bytes outside the device instance, so they survive device restarts.
/// </summary>
public sealed class ConsoleInputPump : IDisposable
{
    /// <summary>Bytes read from the source at most per message.</summary>
    public const int ChunkSize = 4096;

    private readonly Stream _source;
    private readonly ICanTell _target;
    private readonly Func<ConsoleProtocol.Input, object> _wrap;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;

    /// <summary>Creates a pump; call <see cref="Start"/> to begin reading.</summary>
    /// <param name="source">The host byte source.</param>
    /// <param name="target">Who receives the input (a supervisor, a VM actor, a device actor).</param>
    /// <param name="wrap">Wraps each input message for the target (identity for a device actor).</param>
    /// <param name="name">Thread name for diagnostics.</param>
    public ConsoleInputPump(Stream source, ICanTell target, Func<ConsoleProtocol.Input, object> wrap, string name = "console-input")
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _target = target ?? throw new ArgumentNullException(nameof(target));
        _wrap = wrap ?? throw new ArgumentNullException(nameof(wrap));
        _thread = new Thread(Run) { Name = name, IsBackground = true };
    }

    /// <summary>Completes when the source ended, failed, or the pump was disposed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Starts the reading thread.</summary>
    public void Start() => _thread.Start();

    /// <summary>Stops forwarding; a read already blocked ends when the source closes.</summary>
    public void Dispose() => _stopping = true;

    private void Run()
    {
        byte[] buffer = new byte[ChunkSize];
        try
        {
            int read;
            while (!_stopping && (read = _source.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (!_stopping)
                {
                    _target.Tell(_wrap(new ConsoleProtocol.Input(buffer.AsSpan(0, read).ToArray())), ActorRefs.NoSender);
                }
            }

            _completion.TrySetResult();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The host closed its side: input simply ends.
            _completion.TrySetResult();
        }
    }
}
