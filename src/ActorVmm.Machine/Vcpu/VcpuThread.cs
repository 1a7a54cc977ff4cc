using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Machine.Vcpu;

/// <summary>
/// A vCPU's dedicated, named thread (never a pool or actor thread) and its run state machine:
/// Created → Running ⇄ Paused → Stopped. Pause and stop take effect promptly because they ask the
/// core to leave guest code (<see cref="IVcpuCore.RequestExit"/>) and wake a halted vCPU.
/// </summary>
public sealed class VcpuThread : IVcpu, IDisposable
{
    private readonly IVcpuCore _core;
    private readonly string _threadName;
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _resumed = new(true);
    private readonly AutoResetEvent _wake = new(false);
    private readonly TaskCompletionSource<VcpuExit> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _stateLock = new();
    private Thread? _thread;
    private volatile bool _pauseRequested;
    private volatile bool _stopRequested;
    private volatile VcpuRunState _state = VcpuRunState.Created;

    // Completed when the thread reaches Paused (or ends, or a resume overtakes the pause): what Pause() returns.
    private TaskCompletionSource? _paused;

    /// <summary>Wraps a backend core.</summary>
    public VcpuThread(IVcpuCore core, string vmName, ILogger? logger = null)
    {
        _core = core ?? throw new ArgumentNullException(nameof(core));
        _threadName = $"vcpu{core.Id}:{vmName}";
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public int Id => _core.Id;

    /// <summary>The backend core (for backend-specific inspection in tests).</summary>
    public IVcpuCore Core => _core;

    /// <inheritdoc />
    public VcpuRunState State => _state;

    /// <inheritdoc />
    public Task<VcpuExit> Completion => _completion.Task;

    /// <summary>Raised on the vCPU thread whenever it leaves a halt because it was woken.</summary>
    public void Wake() => _wake.Set();

    /// <inheritdoc />
    public void SetEntryState(VcpuEntryState entry)
    {
        if (_state != VcpuRunState.Created)
        {
            throw new InvalidOperationException($"vCPU {Id} is {_state}; the entry state can only be set before it starts");
        }

        _core.SetEntryState(entry);
    }

    /// <inheritdoc />
    public void Start()
    {
        lock (_stateLock)
        {
            if (_state != VcpuRunState.Created)
            {
                throw new InvalidOperationException($"vCPU {Id} was already started");
            }

            _state = VcpuRunState.Running;
            _thread = new Thread(RunLoop) { Name = _threadName, IsBackground = true };
            _thread.Start();
        }
    }

    /// <inheritdoc />
    public Task Pause()
    {
        Task paused;
        lock (_stateLock)
        {
            if (_state is VcpuRunState.Stopped || _stopRequested)
            {
                return Task.CompletedTask;
            }

            if (_state == VcpuRunState.Paused && _pauseRequested)
            {
                return Task.CompletedTask;
            }

            _pauseRequested = true;
            _resumed.Reset();
            if (_state == VcpuRunState.Created)
            {
                _state = VcpuRunState.Paused;
                return Task.CompletedTask;
            }

            _paused ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            paused = _paused.Task;
        }

        _core.RequestExit();
        _wake.Set();
        return paused;
    }

    /// <inheritdoc />
    public void Resume()
    {
        lock (_stateLock)
        {
            if (!_pauseRequested)
            {
                return;
            }

            _pauseRequested = false;
            if (_state == VcpuRunState.Paused && _thread is null)
            {
                _state = VcpuRunState.Created;
            }

            _resumed.Set();
            CompletePause();
        }
    }

    /// <inheritdoc />
    public bool Stop(TimeSpan timeout)
    {
        Thread? thread;
        lock (_stateLock)
        {
            _stopRequested = true;
            thread = _thread;
            if (thread is null)
            {
                Finish(VcpuExit.Stopped);
                return true;
            }
        }

        _core.RequestExit();
        _wake.Set();
        _resumed.Set();
        return OnVcpuThread || thread.Join(timeout);
    }

    private bool OnVcpuThread => Thread.CurrentThread == _thread;

    private void RunLoop()
    {
        VcpuExit final;
        try
        {
            final = Loop();
        }
        catch (Exception ex)
        {
            // A backend bug must end this vCPU, never the process.
            _logger.LogError(ex, "vCPU {Vcpu} run loop failed", Id);
            final = new VcpuExit(VcpuExitReason.InternalError, ex.Message);
        }

        Finish(final);
    }

    private VcpuExit Loop()
    {
        while (true)
        {
            if (_stopRequested)
            {
                return VcpuExit.Stopped;
            }

            if (_pauseRequested)
            {
                lock (_stateLock)
                {
                    _state = VcpuRunState.Paused;
                    CompletePause();
                }

                _resumed.Wait();
                if (_stopRequested)
                {
                    return VcpuExit.Stopped;
                }

                _state = VcpuRunState.Running;
                continue;
            }

            var exit = _core.Run();
            switch (exit.Reason)
            {
                case VcpuExitReason.Interrupted:
                    continue;
                case VcpuExitReason.Halt:
                    // No busy loop: sleep until an interrupt, pause or stop wakes us.
                    _wake.WaitOne();
                    continue;
                default:
                    return exit;
            }
        }
    }

    private void Finish(VcpuExit exit)
    {
        lock (_stateLock)
        {
            _state = VcpuRunState.Stopped;
            CompletePause();
        }

        _completion.TrySetResult(exit);
    }

    // Under _stateLock: the pause asked for is over (reached, or overtaken by a resume or the end of the thread).
    private void CompletePause()
    {
        _paused?.TrySetResult();
        _paused = null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Stop(TimeSpan.FromSeconds(5));
        _core.Dispose();
        _resumed.Dispose();
        _wake.Dispose();
    }
}
