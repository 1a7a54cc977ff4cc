using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Devices;
using ActorVmm.Devices.ExitPort;
using ActorVmm.Devices.Platforms;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Actors.Vm;

/// <summary>
/// One per VM: owns the backend VM, its vCPU threads (dedicated threads from the backend, never
/// actors), its console sink and its device supervisor. Lifecycle Created → Running ⇄ Paused →
/// Stopped. Guest requests to end (exit port, vCPU shutdown/reset/internal-error exits, i8042
/// reset) become a stop with an exit code, or a reboot when configured.
/// </summary>
public sealed class VmActor : ReceiveActor, IWithTimers
{
    /// <summary>How long a stop waits for each vCPU thread to end.</summary>
    public static readonly TimeSpan VcpuStopTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long the final console flush may take before the VM reports stopped anyway.</summary>
    public static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a status query waits for the supervisor's device report.</summary>
    public static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(5);

    private const int SinkMaxRestarts = 10;
    private static readonly TimeSpan SinkRestartWindow = TimeSpan.FromMinutes(1);

    private readonly VmDefinition _definition;
    private readonly IHypervisor _hypervisor;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SupervisionSettings? _settings;
    private readonly TimeProvider _time;
    private readonly List<IActorRef> _exitWaiters = [];
    private readonly List<string> _deviceErrors = [];

    // The console's output in flight: devices of every boot generation append to it, the sink drains it.
    // Dropped with everything else of the machine once the VM has stopped (a stopped VM keeps only its final status).
    private GuestOutputBuffer? _consoleOutput = new();
    private IVirtualMachine? _vm;

    // Kept after the backend VM is disposed so a stopped VM still reports its counters.
    private TrapDispatcher? _dispatcher;
    private IReadOnlyList<IVcpu> _vcpus = [];

    // What a stopped VM reports once its machine is released.
    private VcpuRunState[] _finalVcpuStates = [];
    private long _finalUnhandledPio;
    private long _finalUnhandledMmio;
    private string _backend;
    private IActorRef _supervisor = ActorRefs.Nobody;
    private IActorRef _sink = ActorRefs.Nobody;
    private VmState _state = VmState.Created;
    private VmExit? _exit;
    private VmExit? _stopping;
    private bool _rebooting;
    private int _generation;
    private int _pendingDevices;
    private bool _startRequested;
    private int _reboots;

    // The devices as the supervisor last reported them before it stopped (status of a stopped VM).
    private SupervisorProtocol.DeviceReport _finalReport = new([], 0, 0);

    // Who asked for a pause that the vCPUs have not acknowledged yet.
    private IActorRef? _pausing;

    /// <summary>Creates the VM actor; the backend VM is created in <see cref="PreStart"/>.</summary>
    public VmActor(VmDefinition definition, IHypervisor hypervisor, ILoggerFactory? loggerFactory, SupervisionSettings? settings, TimeProvider? time)
    {
        _definition = definition ?? throw new ArgumentNullException(nameof(definition));
        _hypervisor = hypervisor ?? throw new ArgumentNullException(nameof(hypervisor));
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<VmActor>();
        _settings = settings;
        _time = time ?? TimeProvider.System;
        _backend = hypervisor.Name;

        Receive<SupervisorProtocol.DeviceAdded>(OnDeviceAdded);
        Receive<SupervisorProtocol.DeviceRejected>(OnDeviceRejected);
        Receive<VmProtocol.Start>(_ => OnStart());
        Receive<VmProtocol.Pause>(_ => OnPause());
        Receive<VmProtocol.Resume>(_ => OnResume());
        Receive<VmProtocol.Stop>(_ =>
        {
            Reply(_state == VmState.Stopped ? Rejected("the VM has already stopped") : Accepted());
            var hostStop = new VmExit(VmExitReason.HostStop, VmExit.Success, "stopped by the host");
            if (_rebooting)
            {
                // A stop that arrives while a reboot is under way ends the VM instead of the reboot.
                _rebooting = false;
                _stopping = hostStop;
            }
            else
            {
                BeginStop(hostStop);
            }
        });
        Receive<VmProtocol.GuestPowerRequest>(OnGuestPowerRequest);
        Receive<VmProtocol.VcpuEnded>(OnVcpuEnded);
        Receive<VmProtocol.VcpusStopped>(OnVcpusStopped);
        Receive<VmProtocol.VcpusPaused>(OnVcpusPaused);
        Receive<VmProtocol.FinalDeviceReport>(OnFinalDeviceReport);
        Receive<Terminated>(OnTerminated);
        Receive<ConsoleProtocol.Flushed>(_ => Finish());
        Receive<VmProtocol.FlushTimedOut>(_ => Finish());
        Receive<VmProtocol.GetStatus>(_ => OnGetStatus());
        Receive<VmProtocol.AwaitExit>(_ =>
        {
            if (_state == VmState.Stopped && _exit is not null)
            {
                Sender.Tell(new VmProtocol.Exited(_definition.Name, _exit));
            }
            else
            {
                _exitWaiters.Add(Sender);
            }
        });
        Receive<SupervisorProtocol.SendToDevice>(message => _supervisor.Forward(message));
    }

    /// <summary>Props of a VM actor.</summary>
    public static Props Props(VmDefinition definition, IHypervisor hypervisor, ILoggerFactory? loggerFactory = null, SupervisionSettings? settings = null, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new VmActor(definition, hypervisor, loggerFactory, settings, time));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The device supervisor's child name for a boot generation.</summary>
    public static string SupervisorName(int generation) => $"devices-{generation}";

    /// <inheritdoc />
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(SinkMaxRestarts, SinkRestartWindow, new VmChildDecider(_logger, _definition.Name));

    /// <inheritdoc />
    protected override void PreStart()
    {
        var sinkProps = ConsoleSinkActor.Props(_definition.Console, ConsoleOutput);
        if (Context.System.Dispatchers.HasDispatcher(SupervisionSettings.BlockingIoDispatcherId))
        {
            sinkProps = sinkProps.WithDispatcher(SupervisionSettings.BlockingIoDispatcherId);
        }

        _sink = Context.ActorOf(sinkProps, "console");
        Boot();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // Killed without a clean stop (manager removal, failure): end the vCPU threads anyway.
        if (_vm is not null)
        {
            StopVcpus(_vm.Vcpus);
            _vm.Dispose();
            _vm = null;
        }
    }

    private void Boot()
    {
        _generation++;
        _deviceErrors.Clear();
        var vm = _hypervisor.CreateVm(_definition.Spec);
        vm.Dispatcher.DebugIoport = _definition.DebugIoport;
        vm.Dispatcher.DebugMmio = _definition.DebugMmio;
        _vm = vm;
        _dispatcher = vm.Dispatcher;
        _vcpus = vm.Vcpus;
        _backend = vm.Backend;
        if (_definition.Boot is { } source)
        {
            vm.Vcpus[0].SetEntryState(BootLoader.Load(vm, source));
        }

        InterruptControllerSlot? controllerSlot = null;
        if (!vm.HasInKernelIrqchip)
        {
            controllerSlot = new InterruptControllerSlot();
            vm.AttachInterruptController(controllerSlot);
        }

        var environment = new DeviceEnvironment(
            _definition.Name,
            vm.Interrupts.GetSource,
            _time,
            ConsoleOutput,
            new ActorPowerControl(Self, _generation),
            new GuestDma(vm.Memory),
            controllerSlot);
        // The supervisor is the table's only writer: the VM claims the writer for it, once per backend VM.
        _supervisor = Context.ActorOf(DeviceSupervisor.Props(vm.Dispatcher, vm.Traps.ClaimWriter(), environment, _settings, _loggerFactory), SupervisorName(_generation));
        Context.Watch(_supervisor);

        var platformDevices = _definition.EffectivePlatform.CreateDevices(new PlatformContext(vm, _time, _loggerFactory));
        IReadOnlyList<DeviceDefinition> devices = _definition.WithExitPort
            ? [ExitPortDevice.Definition, .. platformDevices, .. _definition.Devices]
            : [.. platformDevices, .. _definition.Devices];
        _pendingDevices = devices.Count;
        foreach (var device in devices)
        {
            _supervisor.Tell(new SupervisorProtocol.AddDevice(device));
        }

        _logger.LogInformation("VM {Vm} created on {Backend} with {Vcpus} vCPUs, {MemoryBytes} bytes of RAM and {Devices} devices (generation {Generation})", _definition.Name, vm.Backend, vm.Vcpus.Count, _definition.MemorySize, devices.Count, _generation);
        DevicesMaybeReady();
    }

    private void OnDeviceAdded(SupervisorProtocol.DeviceAdded added)
    {
        if (Sender.Equals(_supervisor))
        {
            _pendingDevices--;
            DevicesMaybeReady();
        }
    }

    private void OnDeviceRejected(SupervisorProtocol.DeviceRejected rejected)
    {
        if (!Sender.Equals(_supervisor))
        {
            return;
        }

        _deviceErrors.Add($"device '{rejected.Name}': {rejected.Reason}");
        _logger.LogError("VM {Vm} cannot add device {Device}: {Reason} (conflicts with {Conflict})", _definition.Name, rejected.Name, rejected.Reason, rejected.ConflictsWith ?? "nothing");
        _pendingDevices--;
        DevicesMaybeReady();
    }

    private void DevicesMaybeReady()
    {
        if (_pendingDevices == 0 && _startRequested && _state == VmState.Created && _stopping is null)
        {
            _startRequested = false;
            StartVcpus();
        }
    }

    private void OnStart()
    {
        if (_state != VmState.Created || _stopping is not null)
        {
            Reply(Rejected($"the VM is {_state}; only a created VM can start"));
            return;
        }

        if (_pendingDevices > 0)
        {
            _startRequested = true;
            Reply(Accepted());
            return;
        }

        if (!StartVcpus())
        {
            Reply(Rejected(string.Join("; ", _deviceErrors)));
            return;
        }

        Reply(Accepted());
    }

    private bool StartVcpus()
    {
        if (_deviceErrors.Count > 0)
        {
            // A VM whose devices could not all be added does not run half-built.
            BeginStop(new VmExit(VmExitReason.InternalError, VmExit.SoftwareError, "devices could not be added: " + string.Join("; ", _deviceErrors)));
            return false;
        }

        int generation = _generation;
        foreach (var vcpu in _vm!.Vcpus)
        {
            vcpu.Start();
            int id = vcpu.Id;
            vcpu.Completion.PipeTo(Self, success: exit => new VmProtocol.VcpuEnded(generation, id, exit));
        }

        SetState(VmState.Running);
        return true;
    }

    private void OnPause()
    {
        if (_state != VmState.Running || _stopping is not null || _pausing is not null)
        {
            Reply(Rejected(_pausing is not null ? "the VM is already pausing" : $"the VM is {_state}; only a running VM can pause"));
            return;
        }

        // The vCPUs acknowledge the pause by completing their tasks; the answer waits for that, never spinning here.
        _pausing = Sender;
        int generation = _generation;
        Task.WhenAll(_vm!.Vcpus.Select(v => v.Pause())).PipeTo(Self, success: () => new VmProtocol.VcpusPaused(generation));
    }

    private void OnVcpusPaused(VmProtocol.VcpusPaused paused)
    {
        var replyTo = _pausing;
        _pausing = null;
        if (paused.Generation != _generation || _stopping is not null || _state != VmState.Running)
        {
            replyTo?.Tell(Rejected("the VM stopped before it paused"));
            return;
        }

        SetState(VmState.Paused);
        replyTo?.Tell(Accepted());
    }

    private void OnResume()
    {
        if (_state != VmState.Paused || _stopping is not null)
        {
            Reply(Rejected(_pausing is not null ? "the VM is still pausing" : $"the VM is {_state}; only a paused VM can resume"));
            return;
        }

        foreach (var vcpu in _vm!.Vcpus)
        {
            vcpu.Resume();
        }

        SetState(VmState.Running);
        Reply(Accepted());
    }

    private void OnGuestPowerRequest(VmProtocol.GuestPowerRequest request)
    {
        if (request.Generation != _generation)
        {
            return;
        }

        if (request.Kind == PowerRequestKind.Exit)
        {
            BeginStop(new VmExit(VmExitReason.ExitPort, request.Status, $"the guest wrote {request.Status} to the exit port"));
        }
        else
        {
            OnGuestReset($"the guest asked for a reset ({request.Source})");
        }
    }

    private void OnVcpuEnded(VmProtocol.VcpuEnded ended)
    {
        if (ended.Generation != _generation || _stopping is not null)
        {
            return;
        }

        switch (ended.Exit.Reason)
        {
            case VcpuExitReason.Shutdown:
                BeginStop(new VmExit(VmExitReason.Shutdown, VmExit.Success, ended.Exit.Message ?? $"vCPU {ended.VcpuId} shut down"));
                break;
            case VcpuExitReason.Reset:
                OnGuestReset($"vCPU {ended.VcpuId} reset the machine: {ended.Exit.Message ?? "reset request"}");
                break;
            case VcpuExitReason.InternalError:
                _logger.LogError("vCPU {Vcpu} of VM {Vm} stopped on an internal error: {Error} {Diagnostics}", ended.VcpuId, _definition.Name, ended.Exit.Message, ended.Exit.Diagnostics?.ToString());
                BeginStop(new VmExit(VmExitReason.InternalError, VmExit.SoftwareError, ended.Exit.Message));
                break;
            default:
                // Stopped / interrupted exits only end a thread we stopped ourselves.
                break;
        }
    }

    private void OnGuestReset(string why)
    {
        if (_stopping is not null)
        {
            // Already ending (a host stop, or an earlier request): a late reset must not turn it into a reboot.
            return;
        }

        if (_definition.OnReset == ResetAction.Reboot)
        {
            _logger.LogInformation("VM {Vm} reboots: {Reason}", _definition.Name, why);
            _rebooting = true;
            BeginStop(new VmExit(VmExitReason.Reset, VmExit.Success, why));
        }
        else
        {
            BeginStop(new VmExit(VmExitReason.Reset, VmExit.Success, why));
        }
    }

    private void BeginStop(VmExit exit)
    {
        if (_stopping is not null || _state == VmState.Stopped || _vm is null)
        {
            return;
        }

        _stopping = exit;
        int generation = _generation;
        var vcpus = _vm.Vcpus;

        // Joining vCPU threads blocks: do it off the actor's thread and come back with a message.
        Task.Run(() => StopVcpus(vcpus)).PipeTo(Self, success: () => new VmProtocol.VcpusStopped(generation));
    }

    private void StopVcpus(IReadOnlyList<IVcpu> vcpus)
    {
        foreach (var vcpu in vcpus)
        {
            if (!vcpu.Stop(VcpuStopTimeout))
            {
                _logger.LogError("vCPU {Vcpu} of VM {Vm} did not stop within {Timeout}", vcpu.Id, _definition.Name, VcpuStopTimeout);
            }
        }
    }

    private void OnVcpusStopped(VmProtocol.VcpusStopped stopped)
    {
        if (stopped.Generation != _generation || _stopping is null)
        {
            return;
        }

        // Guest memory outlives every user: the device actors (which may be in the middle of DMA) stop before the
        // VM's memory is unmapped. The supervisor's last report is kept for status queries of the stopped VM; then it
        // stops (its device actors first), and its Terminated continues the stop.
        int generation = _generation;
        _supervisor.Ask<SupervisorProtocol.DeviceReport>(SupervisorProtocol.GetDevices.Instance, StatusTimeout)
            .PipeTo(Self, success: report => new VmProtocol.FinalDeviceReport(generation, report), failure: _ => new VmProtocol.FinalDeviceReport(generation, null));
    }

    private void OnFinalDeviceReport(VmProtocol.FinalDeviceReport final)
    {
        if (final.Generation != _generation || _stopping is null)
        {
            return;
        }

        _finalReport = final.Report ?? _finalReport;
        Context.Stop(_supervisor);
    }

    private void OnTerminated(Terminated terminated)
    {
        if (!terminated.ActorRef.Equals(_supervisor) || _stopping is null)
        {
            return;
        }

        if (_rebooting)
        {
            _rebooting = false;
            _stopping = null;
            _reboots++;
            _vm?.Dispose();
            _vm = null;
            SetState(VmState.Created);
            _startRequested = true;
            Boot();
            return;
        }

        // Output the guest wrote before it asked to stop is already in the console output buffer: flush it first.
        _sink.Tell(ConsoleProtocol.Flush.Instance);
        Timers.StartSingleTimer(nameof(VmProtocol.FlushTimedOut), VmProtocol.FlushTimedOut.Instance, FlushTimeout);
    }

    private void Finish()
    {
        if (_stopping is null || _state == VmState.Stopped)
        {
            return;
        }

        Timers.Cancel(nameof(VmProtocol.FlushTimedOut));
        _exit = _stopping;
        _vm?.Dispose();
        _vm = null;
        ReleaseMachine();
        _logger.LogInformation("VM {Vm} stopped: {Reason} with exit code {ExitCode} ({Detail})", _definition.Name, _exit.Reason, _exit.ExitCode, _exit.Message);
        SetState(VmState.Stopped);
        foreach (var waiter in _exitWaiters)
        {
            waiter.Tell(new VmProtocol.Exited(_definition.Name, _exit));
        }

        _exitWaiters.Clear();
    }

    private GuestOutputBuffer ConsoleOutput => _consoleOutput ?? throw new InvalidOperationException($"VM {_definition.Name} has stopped; its console is released");

    /// <summary>
    /// A stopped VM stays as this actor for status and exit queries until it is removed, so it lets go of its machine
    /// here: the vCPUs (a backend core and its caches each), the trap table (every device instance and region), the
    /// console buffer and the console sink, whose output was flushed (or given up on) before <see cref="Finish"/>.
    /// What status still needs is kept as plain values.
    /// </summary>
    private void ReleaseMachine()
    {
        _finalVcpuStates = [.. _vcpus.Select(v => v.State)];
        _finalUnhandledPio = _dispatcher?.Unhandled.Get(TrapBus.Pio) ?? 0;
        _finalUnhandledMmio = _dispatcher?.Unhandled.Get(TrapBus.Mmio) ?? 0;
        _vcpus = [];
        _dispatcher = null;
        Context.Stop(_sink);
        _sink = ActorRefs.Nobody;
        _consoleOutput = null;
    }

    private void OnGetStatus()
    {
        bool released = _dispatcher is null && _state == VmState.Stopped;
        var vcpus = released ? _finalVcpuStates : [.. _vcpus.Select(v => v.State)];
        long unhandledPio = released ? _finalUnhandledPio : _dispatcher?.Unhandled.Get(TrapBus.Pio) ?? 0;
        long unhandledMmio = released ? _finalUnhandledMmio : _dispatcher?.Unhandled.Get(TrapBus.Mmio) ?? 0;
        string backend = _backend;
        var state = _state;
        var exit = _exit;
        int reboots = _reboots;
        string name = _definition.Name;
        if (_stopping is not null || _state == VmState.Stopped)
        {
            // The supervisor stops with the VM: its last report stands for the devices.
            Sender.Tell(new VmProtocol.VmStatus(name, backend, state, vcpus, _finalReport, unhandledPio, unhandledMmio, reboots, exit));
            return;
        }

        _supervisor.Ask<SupervisorProtocol.DeviceReport>(SupervisorProtocol.GetDevices.Instance, StatusTimeout)
            .PipeTo(Sender, success: devices => new VmProtocol.VmStatus(name, backend, state, vcpus, devices, unhandledPio, unhandledMmio, reboots, exit));
    }

    private void SetState(VmState state)
    {
        _state = state;

        // The parent is the VmManager, which keeps each VM's summary. A VM created at the top level
        // (tests, embedders without a manager) has the user guardian as parent, which would turn
        // every state change into an unhandled-message warning: there is nobody to tell.
        if (!Context.Parent.Equals(((ExtendedActorSystem)Context.System).Guardian))
        {
            Context.Parent.Tell(new VmProtocol.StateChanged(_definition.Name, state, state == VmState.Stopped ? _exit : null));
        }
    }

    private void Reply(object message)
    {
        if (!Sender.IsNobody())
        {
            Sender.Tell(message);
        }
    }

    private VmProtocol.CommandAccepted Accepted() => new(_definition.Name, _state);

    private VmProtocol.CommandRejected Rejected(string reason) => new(_definition.Name, _state, reason);
}
