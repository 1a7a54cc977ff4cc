using System.Runtime.InteropServices;

namespace ActorVmm.Host.Cli;

/// <summary>SIGINT (Ctrl-C) and SIGTERM as a task, instead of the default process kill, so VMs stop cleanly.</summary>
public sealed class StopSignals : IDisposable
{
    private readonly TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    /// <summary>Starts catching the signals.</summary>
    public StopSignals()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Completes when a stop signal arrived.</summary>
    public Task Requested => _requested.Task;

    /// <summary>Restores default signal handling.</summary>
    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _requested.TrySetResult();
    }
}
