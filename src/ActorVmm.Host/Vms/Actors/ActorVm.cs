using System.Diagnostics;
using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices.Serial;
using ActorVmm.Host.Devices;
using Akka.Actor;

namespace ActorVmm.Host.Vms.Actors;

/// <summary>One VM of an <see cref="ActorVmFleet"/>: commands go to its VmActor through the manager; counters come from its status.</summary>
internal sealed class ActorVm : IVmHandle
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private readonly IActorRef _manager;
    private readonly VmDefinition _definition;
    private readonly long _created;
    private readonly FirstExitProbe _probe;
    private readonly TaskCompletionSource<VmOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string _backend = "?";
    private volatile bool _paused;
    private VmCounters _counters;

    public ActorVm(IActorRef manager, VmDefinition definition, long created, FirstExitProbe probe)
    {
        _manager = manager;
        _definition = definition;
        _created = created;
        _probe = probe;
    }

    public string Name => _definition.Name;

    public string Backend => _backend;

    public ulong MemorySize => _definition.MemorySize;

    public int VcpuCount => _definition.VcpuCount;

    public VmState State => _completion.Task.IsCompleted
        ? (_completion.Task.Result.IsFailure ? VmState.Failed : VmState.Stopped)
        : _paused ? VmState.Paused : VmState.Running;

    public VmCounters Counters => _counters;

    public TimeSpan? TimeToFirstExit => _probe.FirstExitTimestamp is long first ? Stopwatch.GetElapsedTime(_created, first) : null;

    public Task<VmOutcome> Completion => _completion.Task;

    /// <summary>Starts waiting for the VM's end (AwaitExit) in the background.</summary>
    public void Watch() => _ = WatchAsync();

    public async Task RefreshAsync()
    {
        try
        {
            var answer = await _manager.Ask(new VmManagerProtocol.ToVm(Name, VmProtocol.GetStatus.Instance), CommandTimeout);
            if (answer is VmProtocol.VmStatus status)
            {
                _backend = status.Backend;
                long exits = status.UnhandledPio + status.UnhandledMmio
                    + status.Devices.Devices.SelectMany(d => d.Regions).Sum(r => r.Counters.Total);
                _counters = new VmCounters(exits, (int)status.Devices.Restarts + status.Reboots);
            }
        }
        catch (AskTimeoutException)
        {
            // A VM too busy to answer keeps its last counters.
        }
    }

    public void SendConsoleInput(ReadOnlyMemory<byte> bytes) =>
        _manager.Tell(new VmManagerProtocol.ToVm(Name, new SupervisorProtocol.SendToDevice(SerialPortSpec.Com1.Name, new ConsoleProtocol.Input(bytes.ToArray()))));

    public Task PauseAsync() => CommandAsync(VmProtocol.Pause.Instance, paused: true);

    public Task ResumeAsync() => CommandAsync(VmProtocol.Resume.Instance, paused: false);

    public async Task StopAsync()
    {
        if (!_completion.Task.IsCompleted)
        {
            await _manager.Ask(new VmManagerProtocol.ToVm(Name, VmProtocol.Stop.Instance), CommandTimeout);
        }

        await _completion.Task;
    }

    private async Task CommandAsync(object command, bool paused)
    {
        var answer = await _manager.Ask(new VmManagerProtocol.ToVm(Name, command), CommandTimeout);
        if (answer is VmProtocol.CommandRejected rejected)
        {
            throw new InvalidOperationException($"VM '{Name}' refused: {rejected.Reason}");
        }

        _paused = paused;
    }

    private async Task WatchAsync()
    {
        VmOutcome outcome;
        try
        {
            var answer = await _manager.Ask(new VmManagerProtocol.ToVm(Name, VmProtocol.AwaitExit.Instance), Timeout.InfiniteTimeSpan);
            outcome = answer switch
            {
                VmProtocol.Exited exited => Map(exited.Exit),
                VmManagerProtocol.VmNotFound => new VmOutcome(VmOutcomeKind.InternalError, 0, "the VM actor is gone"),
                _ => new VmOutcome(VmOutcomeKind.InternalError, 0, $"unexpected answer {answer.GetType().Name}"),
            };
        }
        catch (Exception ex) when (ex is AskTimeoutException or InvalidOperationException)
        {
            outcome = new VmOutcome(VmOutcomeKind.InternalError, 0, ex.Message);
        }

        await RefreshAsync();
        _completion.TrySetResult(outcome);
    }

    private static VmOutcome Map(VmExit exit) => exit.Reason switch
    {
        VmExitReason.ExitPort => new VmOutcome(VmOutcomeKind.ExitPort, exit.ExitCode, exit.Message),
        VmExitReason.HostStop => VmOutcome.Stopped,
        VmExitReason.Reset => new VmOutcome(VmOutcomeKind.Reset, 0, exit.Message ?? "guest asked for a reset"),
        VmExitReason.Shutdown => new VmOutcome(VmOutcomeKind.Shutdown, 0, exit.Message ?? "guest shut down without an exit status"),
        _ => new VmOutcome(VmOutcomeKind.InternalError, 0, exit.Message ?? exit.Reason.ToString()),
    };
}
