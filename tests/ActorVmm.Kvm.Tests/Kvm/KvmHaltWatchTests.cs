using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Time.Testing;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm.Tests.Kvm;

public sealed class KvmHaltWatchTests : IDisposable
{
    private const ulong RamSize = 0x10000;
    private readonly GuestMemory _memory = GuestMemory.Create(RamSize);
    private readonly TrapDispatcher _dispatcher = new(new TrapTable());
    private readonly FakeTimeProvider _time = new();
    private readonly List<(FakeKvmKernel Kernel, KvmVcpuCore Core)> _vcpus = [];

    public void Dispose()
    {
        foreach (var (_, core) in _vcpus)
        {
            core.Dispose();
        }

        _memory.Dispose();
    }

    [Fact]
    public void Every_vcpu_halted_with_interrupts_off_for_two_rounds_ends_vcpu_0_with_a_shutdown_saying_so()
    {
        var bsp = AddVcpu(KVM_MP_STATE_HALTED, interruptsOn: false);
        var ap = AddVcpu(KVM_MP_STATE_HALTED, interruptsOn: false);
        using var watch = new KvmHaltWatch([bsp.Core, ap.Core], _time);

        var exits = Rounds(KvmHaltWatch.RoundsToConfirm + 1);

        Assert.All(exits.Take(KvmHaltWatch.RoundsToConfirm), e => Assert.Equal(VcpuExitReason.Interrupted, e.Reason));
        var last = exits[^1];
        Assert.Equal(VcpuExitReason.Shutdown, last.Reason);
        Assert.Equal(KvmHaltWatch.HaltedMessage, last.Message);
        Assert.Equal(HaltProbe.HaltedInterruptsOff, ap.Core.LastHaltProbe);
    }

    [Fact]
    public void An_AP_still_waiting_for_SIPI_does_not_keep_a_halted_machine_alive()
    {
        AddVcpu(KVM_MP_STATE_HALTED, interruptsOn: false);
        var ap = AddVcpu(KVM_MP_STATE_UNINITIALIZED, interruptsOn: false);
        using var watch = new KvmHaltWatch(_vcpus.Select(v => v.Core).ToArray(), _time);

        var exits = Rounds(KvmHaltWatch.RoundsToConfirm + 1);

        Assert.Equal(VcpuExitReason.Shutdown, exits[^1].Reason);
        Assert.Equal(HaltProbe.WaitingForSipi, ap.Core.LastHaltProbe);
    }

    [Theory]
    [InlineData(KVM_MP_STATE_HALTED, true)]
    [InlineData(KVM_MP_STATE_RUNNABLE, false)]
    public void One_vcpu_that_can_still_wake_or_run_keeps_the_vm_going(uint apState, bool apInterruptsOn)
    {
        AddVcpu(KVM_MP_STATE_HALTED, interruptsOn: false);
        AddVcpu(apState, apInterruptsOn);
        using var watch = new KvmHaltWatch(_vcpus.Select(v => v.Core).ToArray(), _time);

        var exits = Rounds(KvmHaltWatch.RoundsToConfirm + 3);

        Assert.All(exits, e => Assert.Equal(VcpuExitReason.Interrupted, e.Reason));
    }

    [Fact]
    public void A_vcpu_that_does_not_answer_a_probe_counts_as_unknown_not_halted()
    {
        var bsp = AddVcpu(KVM_MP_STATE_HALTED, interruptsOn: false);
        using var watch = new KvmHaltWatch([bsp.Core], _time);

        // Rounds pass while the vCPU never leaves KVM_RUN to answer (paused, or busy): nothing is decided.
        for (int i = 0; i < KvmHaltWatch.RoundsToConfirm + 2; i++)
        {
            _time.Advance(KvmHaltWatch.Interval);
        }

        Assert.Equal(HaltProbe.Unknown, bsp.Core.LastHaltProbe);
        Assert.Equal(0, bsp.Kernel.MpStateReads);
        Assert.Equal(VcpuExitReason.Interrupted, bsp.Core.Run().Reason);
    }

    private (FakeKvmKernel Kernel, KvmVcpuCore Core) AddVcpu(uint mpState, bool interruptsOn)
    {
        var kernel = new FakeKvmKernel(withRing: false)
        {
            MpState = mpState,
            Regs = new kvm_regs { rflags = KvmRegisterSetup.RflagsReserved | (interruptsOn ? KvmRegisterSetup.RflagsInterruptEnable : 0) },
        };
        var core = new KvmVcpuCore(_vcpus.Count, kernel, _memory, _dispatcher, cpuid: null, hasIrqchip: false);
        _vcpus.Add((kernel, core));
        return (kernel, core);
    }

    /// <summary>Each round: the timer fires, then every vCPU thread answers by running once; returns vCPU 0's exits (up to its Shutdown).</summary>
    private List<VcpuExit> Rounds(int count)
    {
        var exits = new List<VcpuExit>();
        for (int i = 0; i < count; i++)
        {
            _time.Advance(KvmHaltWatch.Interval);
            exits.Add(_vcpus[0].Core.Run());
            if (exits[^1].Reason == VcpuExitReason.Shutdown)
            {
                break;
            }

            foreach (var (_, core) in _vcpus.Skip(1))
            {
                Assert.Equal(VcpuExitReason.Interrupted, core.Run().Reason);
            }
        }

        return exits;
    }
}
