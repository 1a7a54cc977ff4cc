using System.Runtime.InteropServices;

namespace ActorVmm.Host.Cli;

/// <summary>
/// SIGINT (Ctrl-C), SIGTERM and SIGHUP as a task instead of the default kill, so a command stops
/// its VMs, restores the terminal and removes its control socket, then exits with 128 + the signal.
/// A second signal while that stop is under way exits at once with the same code; the process-exit
/// hooks still restore the terminal and remove the socket.
/// </summary>
public sealed class StopSignals : IDisposable
{
    /// <summary>The signals that stop a command.</summary>
    public static IReadOnlyList<PosixSignal> Handled { get; } = [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP];

    private readonly TaskCompletionSource<PosixSignal> _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    /// <summary>Starts catching the signals.</summary>
    public StopSignals() => _registrations = [.. Handled.Select(s => PosixSignalRegistration.Create(s, OnSignal))];

    /// <summary>Completes with the first stop signal that arrived.</summary>
    public Task<PosixSignal> Requested => _requested.Task;

    /// <summary>The first stop signal, once one arrived.</summary>
    public PosixSignal? Received => _requested.Task.IsCompleted ? _requested.Task.Result : null;

    /// <summary>Restores default signal handling.</summary>
    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _received) == 1)
        {
            _requested.TrySetResult(context.Signal);
            return;
        }

        Environment.Exit(ExitCodes.ForSignal(context.Signal));
    }
}
