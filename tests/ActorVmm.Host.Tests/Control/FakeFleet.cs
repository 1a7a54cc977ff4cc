using ActorVmm.Host.Vms;

namespace ActorVmm.Host.Tests.Control;

/// <summary>
/// A test double of the host's VM fleet for protocol tests: VMs whose state follows the commands
/// they receive, with no guest behind them. End-to-end tests cover real VMs.
/// </summary>
internal sealed class FakeFleet : IVmFleet
{
    private readonly List<FakeVm> _vms = [];

    public IReadOnlyList<IVmHandle> Vms => _vms;

    public FakeVm Add(string name)
    {
        var vm = new FakeVm(name);
        _vms.Add(vm);
        return vm;
    }

    public IVmHandle? Find(string name) => _vms.Find(v => v.Name == name);

    public Task<IVmHandle> LaunchAsync(VmLaunchSpec spec, CancellationToken cancellationToken) => Task.FromResult<IVmHandle>(Add(spec.Name));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

internal sealed class FakeVm(string name) : IVmHandle
{
    public const ulong Memory = 1024 * 1024;
    public const long ExitCount = 1234;
    private readonly TaskCompletionSource<VmOutcome> _completion = new();

    public string Name => name;

    public string Backend => "fake";

    public ulong MemorySize => Memory;

    public int VcpuCount => 1;

    public VmState State { get; private set; } = VmState.Running;

    public VmCounters Counters => new(ExitCount, Restarts: 0);

    public IReadOnlyList<string> PciFunctions { get; set; } = [];

    public TimeSpan? TimeToFirstExit => null;

    public Task<VmOutcome> Completion => _completion.Task;

    public Task RefreshAsync() => Task.CompletedTask;

    public Task<bool> SendConsoleInputAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => throw new NotSupportedException("protocol tests send no console input");

    public Task PauseAsync()
    {
        State = VmState.Paused;
        return Task.CompletedTask;
    }

    public Task ResumeAsync()
    {
        State = VmState.Running;
        return Task.CompletedTask;
    }

    public Task StopAsync()
    {
        State = VmState.Stopped;
        _completion.TrySetResult(VmOutcome.Stopped);
        return Task.CompletedTask;
    }
}
