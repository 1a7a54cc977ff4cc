using Akka.Actor;

namespace ActorVmm.Actors.Console;

/// <summary>
/// Feeds host bytes (stdin, a socket) to a guest device: a dedicated background thread blocks on the source (never an
/// actor or pool thread), hands each chunk over in order and reads the next only once the device has accepted it into
/// its bounded input queue. An endless source (<c>cat /dev/zero</c>) is therefore read only as fast as the guest reads,
/// and host memory stays bounded. The input survives device restarts (the queue and backlog live outside the instance).
/// </summary>
public sealed class ConsoleInputPump : IDisposable
{
    /// <summary>Bytes read from the source at most per chunk.</summary>
    public const int ChunkSize = 4096;

    private readonly Stream _source;
    private readonly Func<ReadOnlyMemory<byte>, CancellationToken, Task<bool>> _deliver;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates a pump; call <see cref="Start"/> to begin reading.</summary>
    /// <param name="source">The host byte source.</param>
    /// <param name="deliver">
    /// Hands one chunk (a copy the receiver may keep) to the guest; completes with true once it is accepted, false when
    /// the guest side is gone (input then ends).
    /// </param>
    /// <param name="name">Thread name for diagnostics.</param>
    public ConsoleInputPump(Stream source, Func<ReadOnlyMemory<byte>, CancellationToken, Task<bool>> deliver, string name = "console-input")
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _deliver = deliver ?? throw new ArgumentNullException(nameof(deliver));
        _thread = new Thread(Run) { Name = name, IsBackground = true };
    }

    /// <summary>Completes when the source ended, failed, the guest side went away, or the pump was disposed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// A pump that sends each chunk as <see cref="ConsoleProtocol.Input"/> wrapped for <paramref name="target"/> — for
    /// example <c>input =&gt; new SupervisorProtocol.SendToDevice("com1", input)</c> to a VM's supervisor — and waits for
    /// the device's <see cref="ConsoleProtocol.InputAccepted"/>.
    /// </summary>
    public static ConsoleInputPump ToActor(Stream source, ICanTell target, Func<ConsoleProtocol.Input, object> wrap, string name = "console-input")
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(wrap);
        return new ConsoleInputPump(source, async (bytes, cancel) =>
            await target.Ask(wrap(new ConsoleProtocol.Input(bytes)), Timeout.InfiniteTimeSpan, cancel).ConfigureAwait(false) is ConsoleProtocol.InputAccepted, name);
    }

    /// <summary>Starts the reading thread.</summary>
    public void Start() => _thread.Start();

    /// <summary>Stops forwarding; a read already blocked ends when the source closes.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _completion.TrySetResult();
    }

    private void Run()
    {
        byte[] buffer = new byte[ChunkSize];
        var cancel = _stop.Token;
        try
        {
            int read;
            while (!cancel.IsCancellationRequested && (read = _source.Read(buffer, 0, buffer.Length)) > 0)
            {
                // A copy per chunk: a delivery abandoned by Dispose may still hold it while this thread ends.
                if (!_deliver(buffer.AsMemory(0, read).ToArray(), cancel).GetAwaiter().GetResult())
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The host closed its side, or the pump was stopped: input simply ends.
        }
        finally
        {
            _completion.TrySetResult();
        }
    }
}
