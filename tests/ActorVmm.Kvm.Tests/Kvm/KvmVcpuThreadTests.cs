using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm.Tests.Kvm;

/// <summary>Pause and stop while the fake kernel holds the vCPU thread "inside" KVM_RUN.</summary>
public sealed class KvmVcpuThreadTests : IDisposable
{
    private const ulong RamSize = 0x20000;
    private const ushort Com1 = 0x3F8;
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    private readonly FakeKvmKernel _kernel = new();
    private readonly RecordingBus _bus = new();
    private readonly GuestMemory _memory = GuestMemory.Create(RamSize);
    private readonly VcpuThread _vcpu;

    public KvmVcpuThreadTests()
    {
        _bus.Add(TrapBus.Pio, Com1, 8);
        var core = new KvmVcpuCore(0, _kernel, _memory, _bus.Dispatcher, null, hasIrqchip: false);
        _vcpu = new VcpuThread(core, "fake");
    }

    public void Dispose()
    {
        _vcpu.Dispose();
        _memory.Dispose();
    }

    [Fact]
    public async Task Stop_while_inside_KVM_RUN_kicks_the_thread_out_and_completes_with_stopped()
    {
        _kernel.EnqueueIo(KVM_EXIT_IO_OUT, 1, Com1, 1, "x"u8);
        _vcpu.Start();
        Assert.True(_kernel.BlockedInRun.Wait(Prompt), "the vCPU never entered the blocking KVM_RUN");

        Assert.True(_vcpu.Stop(Prompt));

        Assert.Equal(VcpuExitReason.Stopped, (await _vcpu.Completion).Reason);
        Assert.True(_kernel.Kicks >= 1);
        Assert.Single(_bus.Accesses);
    }

    [Fact]
    public async Task Pause_while_inside_KVM_RUN_returns_paused_and_resume_enters_KVM_RUN_again()
    {
        _vcpu.Start();
        Assert.True(_kernel.BlockedInRun.Wait(Prompt));

        await _vcpu.Pause().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(VcpuRunState.Paused, _vcpu.State);
        int callsWhilePaused = _kernel.RunCalls;

        _kernel.EnqueueIo(KVM_EXIT_IO_OUT, 1, Com1, 1, "r"u8);
        _vcpu.Resume();
        Assert.True(SpinWait.SpinUntil(() => _kernel.RunCalls > callsWhilePaused + 1 && _kernel.BlockedInRun.IsSet, Prompt));

        Assert.Equal(VcpuRunState.Running, _vcpu.State);
        Assert.Equal([(ulong)'r'], _bus.Accesses.Select(a => a.Value));
        Assert.True(_vcpu.Stop(Prompt));
    }

    [Fact]
    public async Task Guest_triple_fault_ends_the_thread_with_reset()
    {
        _kernel.EnqueueExit(KVM_EXIT_SHUTDOWN);
        _vcpu.Start();

        var exit = await _vcpu.Completion.WaitAsync(Prompt);
        Assert.Equal(VcpuExitReason.Reset, exit.Reason);
    }
}
