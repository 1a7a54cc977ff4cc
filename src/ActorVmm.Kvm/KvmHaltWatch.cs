namespace ActorVmm.Kvm;

/// <summary>
/// Ends a VM whose every vCPU has halted for good. With the in-kernel irqchip HLT never reaches userspace (the vCPU
/// sleeps inside KVM_RUN), so a timer asks each vCPU thread to step out of KVM_RUN and read its own
/// KVM_GET_MP_STATE and RFLAGS.IF (<see cref="KvmVcpuCore.RequestHaltProbe"/>). When, on
/// <see cref="RoundsToConfirm"/> rounds in a row, every vCPU is halted with interrupts off or is an AP still waiting
/// for a SIPI (and at least one is halted), nothing inside the guest can wake any of them: vCPU 0 ends with a
/// Shutdown exit saying so. Two rounds keep a vCPU that an IPI just woke from being taken for stopped.
/// </summary>
internal sealed class KvmHaltWatch : IDisposable
{
    /// <summary>Time between probes; a halted machine is reported within about two of these.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <summary>Consecutive all-halted rounds before the VM is ended.</summary>
    public const int RoundsToConfirm = 2;

    /// <summary>The Shutdown exit's message.</summary>
    public const string HaltedMessage = "every vCPU halted with interrupts off (the guest stopped itself: halt or poweroff without ACPI, or a failed boot)";

    private readonly IReadOnlyList<KvmVcpuCore> _cores;
    private readonly Lock _lock = new();
    private readonly ITimer _timer;
    private int _rounds;
    private bool _done;

    /// <summary>Starts probing <paramref name="cores"/> every <see cref="Interval"/> on <paramref name="time"/>'s timers.</summary>
    public KvmHaltWatch(IReadOnlyList<KvmVcpuCore> cores, TimeProvider time)
    {
        _cores = cores;
        _timer = time.CreateTimer(_ => Tick(), null, Interval, Interval);
    }

    /// <summary>One round: judge the answers to the previous round's probes, then ask again.</summary>
    internal void Tick()
    {
        lock (_lock)
        {
            if (_done)
            {
                return;
            }

            bool stopped = _cores.All(c => c.LastHaltProbe is HaltProbe.HaltedInterruptsOff or HaltProbe.WaitingForSipi)
                && _cores.Any(c => c.LastHaltProbe == HaltProbe.HaltedInterruptsOff);
            _rounds = stopped ? _rounds + 1 : 0;
            if (_rounds >= RoundsToConfirm)
            {
                _done = true;
                _cores[0].EndAsHalted(HaltedMessage);
                return;
            }

            foreach (var core in _cores)
            {
                core.RequestHaltProbe();
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _timer.Dispose();
        lock (_lock)
        {
            // A tick in flight has finished; none touches the cores after this.
            _done = true;
        }
    }
}
