using System.Diagnostics;
using ActorVmm.Actors.Devices;
using ActorVmm.Actors.Devices.Serial;
using ActorVmm.Kvm.Machine;
using ActorVmm.Kvm.Traps;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Host.Vms.Machine;

/// <summary>
/// One VM run directly on the machine layer: guest RAM with the image loaded, the devices' regions
/// in the trap table, the host-owned exit port, and the boot vCPU's thread.
/// </summary>
internal sealed class MachineVm : IVmHandle, IVmPowerRequests, IDisposable
{
    /// <summary>The exit port (guest-conventions.md): a write of v stops the VM with status v.</summary>
    public const ushort ExitPort = 0xF4;

    /// <summary>The POST diagnostic port; the fleet guest's first instruction writes it.</summary>
    public const ushort PostPort = 0x80;

    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(5);

    private readonly IVirtualMachine _vm;
    private readonly long _createdTimestamp;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<VmOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _firstExitTimestamp;
    private int _exitStatus = -1;
    private PowerRequestSource? _resetSource;
    private SerialDevice? _com1;
    private volatile bool _paused;
    private volatile bool _stopRequested;

    public MachineVm(IVirtualMachine vm, long createdTimestamp, ILogger logger)
    {
        _vm = vm;
        _createdTimestamp = createdTimestamp;
        _logger = logger;
    }

    public string Name => _vm.Name;

    public string Backend => _vm.Backend;

    public ulong MemorySize => _vm.Memory.TotalSize;

    public int VcpuCount => _vm.Vcpus.Count;

    public VmState State => _completion.Task.IsCompleted
        ? (_completion.Task.Result.IsFailure ? VmState.Failed : VmState.Stopped)
        : _vm.Vcpus[0].State switch
        {
            VcpuRunState.Created => VmState.Starting,
            VcpuRunState.Paused => VmState.Paused,
            _ => _paused ? VmState.Paused : VmState.Running,
        };

    public VmCounters Counters
    {
        get
        {
            long exits = _vm.Dispatcher.Unhandled.Get(TrapBus.Pio) + _vm.Dispatcher.Unhandled.Get(TrapBus.Mmio);
            foreach (var bus in (ReadOnlySpan<TrapBus>)[TrapBus.Pio, TrapBus.Mmio])
            {
                foreach (var region in _vm.Traps.Regions(bus))
                {
                    exits += region.Counters.Snapshot().Total;
                }
            }

            return new VmCounters(exits, Restarts: 0);
        }
    }

    public TimeSpan? TimeToFirstExit
    {
        get
        {
            long first = Volatile.Read(ref _firstExitTimestamp);
            return first == 0 ? null : Stopwatch.GetElapsedTime(_createdTimestamp, first);
        }
    }

    public Task<VmOutcome> Completion => _completion.Task;

    /// <summary>Loads the image, registers the devices and starts the boot vCPU.</summary>
    public void Start(VmLaunchSpec spec, IReadOnlyList<IDevice> devices)
    {
        var entry = FlatBinaryLoader.Load(_vm.Memory, spec.Image.Span);
        _vm.Dispatcher.DebugIoport = spec.DebugIoport;
        _vm.Dispatcher.DebugMmio = spec.DebugMmio;
        _vm.Dispatcher.Faulted += fault => _logger.LogError(fault.Exception,
            "Device region {Region} faulted on {Bus} at {Address:X} and was quarantined", fault.Region.Name, fault.Region.Bus, fault.Address);

        _com1 = devices.OfType<SerialDevice>().FirstOrDefault();
        foreach (var device in devices)
        {
            for (int i = 0; i < device.Regions.Count; i++)
            {
                int index = i;
                var region = device.Regions[i];
                _vm.Traps.Register(region.Bus, region.Base, region.Length, access =>
                {
                    MarkFirstExit();
                    device.HandleTrap(index, access);
                }, region.Flags, $"{device.Name}#{i}");
            }
        }

        // The exit port and POST port belong to the host unless a device already claims them.
        RegisterIfFree(ExitPort, "exit-port", OnExitPort);
        RegisterIfFree(PostPort, "post", _ => MarkFirstExit());

        var boot = _vm.Vcpus[0];
        boot.SetEntryState(entry);
        _ = boot.Completion.ContinueWith(t => OnBootVcpuEnded(t.Result), TaskScheduler.Default);
        boot.Start();
    }

    public Task RefreshAsync() => Task.CompletedTask;

    /// <summary>Typed bytes go into COM1's receive FIFO; what does not fit is dropped (no flow control in this runner).</summary>
    public void SendConsoleInput(ReadOnlyMemory<byte> bytes) => _com1?.EnqueueInput(bytes.Span);

    public Task PauseAsync() => Task.Run(() =>
    {
        _paused = true;
        foreach (var vcpu in _vm.Vcpus)
        {
            vcpu.Pause();
        }
    });

    public Task ResumeAsync() => Task.Run(() =>
    {
        _paused = false;
        foreach (var vcpu in _vm.Vcpus)
        {
            vcpu.Resume();
        }

        // Report "running" only once the boot vCPU's thread has actually left its pause.
        var boot = _vm.Vcpus[0];
        SpinWait.SpinUntil(() => boot.State != VcpuRunState.Paused, StopWait);
    });

    public async Task StopAsync()
    {
        _stopRequested = true;
        await Task.Run(StopVcpus);
        await _completion.Task;
    }

    public void Dispose()
    {
        StopVcpus();
        _vm.Dispose();
    }

    /// <summary>A device's exit request (the legacy block's exit port): the first status wins, then the vCPUs stop.</summary>
    public void RequestStop(int exitStatus, PowerRequestSource source)
    {
        Interlocked.CompareExchange(ref _exitStatus, exitStatus & 0xFF, -1);
        StopVcpus(TimeSpan.Zero);
    }

    /// <summary>A device's reset request (i8042 pulse, port 0x92): actorvmm does not reboot guests, so the VM ends.</summary>
    public void RequestReset(PowerRequestSource source)
    {
        _resetSource = source;
        StopVcpus(TimeSpan.Zero);
    }

    private void RegisterIfFree(ushort port, string name, TrapHandler handler)
    {
        if (_vm.Traps.Lookup(TrapBus.Pio, port, 1) is null)
        {
            _vm.Traps.Register(TrapBus.Pio, port, 1, handler, TrapFlags.None, name);
        }
    }

    private void MarkFirstExit()
    {
        // One read of a field that is written once: no shared writes on the hot path after the first exit.
        if (Volatile.Read(ref _firstExitTimestamp) == 0)
        {
            Interlocked.CompareExchange(ref _firstExitTimestamp, Stopwatch.GetTimestamp(), 0);
        }
    }

    private void OnExitPort(TrapAccess access)
    {
        MarkFirstExit();
        if (!access.IsWrite)
        {
            return;
        }

        // Only the low byte is the status, as with a byte OUT; wider writes keep their low byte.
        Interlocked.CompareExchange(ref _exitStatus, (int)(access.Value & 0xFF), -1);
        StopVcpus(TimeSpan.Zero);
    }

    private void StopVcpus() => StopVcpus(StopWait);

    private void StopVcpus(TimeSpan wait)
    {
        foreach (var vcpu in _vm.Vcpus)
        {
            vcpu.Stop(wait);
        }
    }

    private void OnBootVcpuEnded(VcpuExit exit)
    {
        StopVcpus();
        int status = Volatile.Read(ref _exitStatus);
        var outcome = status >= 0
            ? new VmOutcome(VmOutcomeKind.ExitPort, status, $"guest exited with status {status}")
            : _resetSource is { } source
            ? new VmOutcome(VmOutcomeKind.Reset, 0, $"guest asked for a reset ({source}); actorvmm does not reboot guests")
            : exit.Reason switch
            {
                VcpuExitReason.Stopped => _stopRequested ? VmOutcome.Stopped : new VmOutcome(VmOutcomeKind.Stopped, 0, "stopped"),
                VcpuExitReason.Reset => new VmOutcome(VmOutcomeKind.Reset, 0, "guest asked for a reset; actorvmm does not reboot guests"),
                VcpuExitReason.Shutdown => new VmOutcome(VmOutcomeKind.Shutdown, 0, $"guest shut down without an exit status (triple fault?){Detail(exit)}"),
                _ => new VmOutcome(VmOutcomeKind.InternalError, 0, $"internal error{Detail(exit)}"),
            };
        if (exit.Diagnostics is not null)
        {
            _logger.LogError("VM {Vm} vCPU state at failure: {Diagnostics}", Name, exit.Diagnostics.ToString());
        }

        _completion.TrySetResult(outcome);
    }

    private static string Detail(VcpuExit exit) => exit.Message is null ? string.Empty : $": {exit.Message}";
}
