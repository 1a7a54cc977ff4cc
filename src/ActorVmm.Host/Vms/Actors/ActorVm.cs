using System.Diagnostics;
using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Serial;
using ActorVmm.Host.Devices;
using Akka.Actor;

namespace ActorVmm.Host.Vms.Actors;

/// <summary>One VM of an <see cref="ActorVmFleet"/>: commands go to its VmActor through the manager; counters come from its status.</summary>
internal sealed class ActorVm : IVmHandle
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    // How long the VM actor may take to answer Identify (it answers after its PreStart, which creates the VM).
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(30);

    // After the VM actor ended, how long its Exited answer (sent just before) may take to arrive.
    private static readonly TimeSpan ExitAnswerGrace = TimeSpan.FromSeconds(1);
    private readonly ActorSystem _system;
    private readonly IActorRef _manager;
    private readonly VmDefinition _definition;
    private readonly long _created;
    private readonly FirstExitProbe _probe;
    private readonly TaskCompletionSource<VmOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string _backend = "?";
    private volatile bool _paused;
    private VmCounters _counters;
    private IReadOnlyList<string> _pciFunctions = [];

    public ActorVm(ActorSystem system, IActorRef manager, VmDefinition definition, long created, FirstExitProbe probe)
    {
        _system = system;
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

    public IReadOnlyList<string> PciFunctions => _pciFunctions;

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
                _pciFunctions = status.Devices.Devices.FirstOrDefault(d => d.Name == PciHostBridgeDevice.DeviceName)?.Details ?? [];
            }
        }
        catch (AskTimeoutException)
        {
            // A VM too busy to answer keeps its last counters.
        }
    }

    public async Task<bool> SendConsoleInputAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var input = new ConsoleProtocol.Input(bytes.ToArray());
        var answer = await _manager.Ask(new VmManagerProtocol.ToVm(Name, new SupervisorProtocol.SendToDevice(SerialPortSpec.Com1.Name, input)), Timeout.InfiniteTimeSpan, cancellationToken);
        return answer is ConsoleProtocol.InputAccepted;
    }

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

    /// <summary>
    /// Waits for the VM's Exited answer, or for its actor to end without one: a VM actor that fails
    /// (creating guest RAM in its PreStart, or later) is stopped by the manager and never answers
    /// the AwaitExit it may already have been forwarded, so waiting on that alone hung forever.
    /// </summary>
    private async Task WatchAsync()
    {
        VmOutcome outcome;
        try
        {
            var exit = _manager.Ask(new VmManagerProtocol.ToVm(Name, VmProtocol.AwaitExit.Instance), Timeout.InfiniteTimeSpan);
            var ended = ActorEndedAsync();
            if (await Task.WhenAny(exit, ended) != exit)
            {
                await Task.WhenAny(exit, Task.Delay(ExitAnswerGrace));
            }

            outcome = !exit.IsCompleted
                ? new VmOutcome(VmOutcomeKind.InternalError, 0, "the VM actor failed (see the log)")
                : exit.Result switch
                {
                    VmProtocol.Exited exited => Map(exited.Exit),
                    VmManagerProtocol.VmNotFound => new VmOutcome(VmOutcomeKind.InternalError, 0, "the VM actor is gone"),
                    var answer => new VmOutcome(VmOutcomeKind.InternalError, 0, $"unexpected answer {answer.GetType().Name}"),
                };
        }
        catch (Exception ex) when (ex is AskTimeoutException or InvalidOperationException)
        {
            outcome = new VmOutcome(VmOutcomeKind.InternalError, 0, ex.Message);
        }

        await RefreshAsync();
        _completion.TrySetResult(outcome);
    }

    /// <summary>Completes once the VM's actor has terminated (at once when it is already gone).</summary>
    private async Task ActorEndedAsync()
    {
        IActorRef actor;
        try
        {
            actor = await _system.ActorSelection(_manager.Path / Name).ResolveOne(ResolveTimeout);
        }
        catch (ActorNotFoundException)
        {
            return;
        }

        await actor.WatchAsync();
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
