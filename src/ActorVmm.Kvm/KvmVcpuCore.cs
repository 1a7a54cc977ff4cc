using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm;

/// <summary>
/// A KVM vCPU: the KVM_RUN loop. Port I/O (including string I/O with count &gt; 1) and MMIO exits
/// are dispatched through the trap table right here on the vCPU thread, with read data left in
/// kvm_run for the kernel to complete on the next KVM_RUN; the coalesced ring is drained before
/// each MMIO and port I/O exit is handled and after every exit. Everything else becomes a <see cref="VcpuExit"/>.
/// </summary>
internal sealed unsafe class KvmVcpuCore : IVcpuCore
{
    private const int MaxMmioLength = 8;
    private const int MaxInstructionBytes = 15;

    private readonly IKvmVcpuKernel _kernel;
    private readonly GuestMemory _memory;
    private readonly TrapDispatcher _dispatcher;
    private readonly CoalescedRing? _ring;
    // Unsafe throughout this class: _run points at the vCPU's kvm_run mapping, which stays mapped
    // until Dispose (RequestExit checks _disposed). Fixed-size members are read through the
    // header-checked struct; the only variable-offset access (I/O data) is bounds-checked first.
    private readonly kvm_run* _run;
    private volatile bool _disposed;
    private int _haltProbeRequested;
    private int _haltProbe;
    private volatile string? _endAsHalted;

    /// <summary>
    /// Wraps a vCPU; sets its CPUID (when given, already made for this vCPU by <see cref="KvmCpuid.ForVcpu"/>), the
    /// MSRs every vCPU starts with, and, with an in-kernel irqchip, routes LINT0/LINT1.
    /// </summary>
    public KvmVcpuCore(int id, IKvmVcpuKernel kernel, GuestMemory memory, TrapDispatcher dispatcher, IReadOnlyList<kvm_cpuid_entry2>? cpuid, bool hasIrqchip, Lock? ringDrainLock = null)
    {
        Id = id;
        _kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        _memory = memory ?? throw new ArgumentNullException(nameof(memory));
        _dispatcher = dispatcher ?? throw new ArgumentNullException(nameof(dispatcher));
        _run = (kvm_run*)kernel.RunPage;
        if (kernel.CoalescedRing != 0)
        {
            _ring = new CoalescedRing(kernel.CoalescedRing, kernel.CoalescedRingSize, ringDrainLock);
        }

        if (cpuid is not null)
        {
            kernel.SetCpuid(cpuid.ToArray());
        }

        bool mtrr = cpuid?.Any(e => e.function == KvmCpuid.LeafFeatures && (e.edx & KvmCpuid.EdxMtrr) != 0) ?? false;
        KvmRegisterSetup.SetBootMsrs(kernel, mtrr);

        if (hasIrqchip)
        {
            var lapic = kernel.GetLapic();
            KvmRegisterSetup.RouteLegacyInterrupts(ref lapic);
            kernel.SetLapic(lapic);
        }
    }

    /// <inheritdoc />
    public int Id { get; }

    /// <summary>Writes drained from the coalesced ring so far (diagnostics).</summary>
    public long CoalescedWrites { get; private set; }

    /// <summary>What the latest halt probe saw (<see cref="KvmHaltWatch"/>); Unknown until the vCPU thread has answered the latest request.</summary>
    public HaltProbe LastHaltProbe => (HaltProbe)Volatile.Read(ref _haltProbe);

    /// <inheritdoc />
    public void SetEntryState(VcpuEntryState entry) => KvmRegisterSetup.Apply(_kernel, _memory, entry);

    /// <inheritdoc />
    public VcpuExit Run()
    {
        while (true)
        {
            int errno = _kernel.Run();
            if (errno != 0)
            {
                DrainRing();
                if (errno is Libc.EINTR or Libc.EAGAIN)
                {
                    return Interrupted();
                }

                throw new KvmIoctlException(nameof(KvmIoctls.KVM_RUN), errno, $"vCPU {Id}");
            }

            VcpuExit? exit = HandleExit();
            DrainRing();
            if (exit is not null)
            {
                return exit;
            }
        }
    }

    /// <inheritdoc />
    public void RequestExit()
    {
        if (_disposed)
        {
            // kvm_run is unmapped: there is no run left to interrupt.
            return;
        }

        // immediate_exit covers a thread about to enter KVM_RUN; the signal one already inside it.
        Volatile.Write(ref _run->immediate_exit, 1);
        _kernel.Kick();
    }

    /// <summary>
    /// From any thread: asks the vCPU thread to record, at its next exit from KVM_RUN (forced now), whether the vCPU
    /// is halted with interrupts off (<see cref="LastHaltProbe"/>). A thread that is paused or not started does not
    /// answer, and the probe stays Unknown.
    /// </summary>
    public void RequestHaltProbe()
    {
        if (_disposed)
        {
            return;
        }

        // The request is published before immediate_exit, so a vCPU thread that clears immediate_exit in between still
        // finds it; one that already consumed an earlier request answers this one on its next (immediate) exit.
        // Safe: the only caller is the VM's halt watch, which is disposed, with no tick in flight, before the vCPUs.
        Volatile.Write(ref _haltProbe, (int)HaltProbe.Unknown);
        Interlocked.Exchange(ref _haltProbeRequested, 1);
        Volatile.Write(ref _run->immediate_exit, 1);
        _kernel.Kick();
    }

    /// <summary>From any thread: ends this vCPU's run with a Shutdown exit carrying <paramref name="message"/> (every vCPU halted for good).</summary>
    public void EndAsHalted(string message)
    {
        _endAsHalted = message;
        RequestExit();
    }

    private VcpuExit Interrupted()
    {
        // Consumed: a later RequestExit or probe request sets it again before kicking.
        Volatile.Write(ref _run->immediate_exit, 0);
        if (Interlocked.Exchange(ref _haltProbeRequested, 0) == 1)
        {
            Volatile.Write(ref _haltProbe, (int)ProbeHalt());
        }

        return _endAsHalted is { } message ? new VcpuExit(VcpuExitReason.Shutdown, message) : VcpuExit.Interrupted;
    }

    private HaltProbe ProbeHalt()
    {
        // On the vCPU thread, outside KVM_RUN: the state KVM keeps for a vCPU sleeping in the in-kernel HLT.
        return _kernel.GetMpState() switch
        {
            KVM_MP_STATE_HALTED => (_kernel.GetRegs().rflags & KvmRegisterSetup.RflagsInterruptEnable) == 0 ? HaltProbe.HaltedInterruptsOff : HaltProbe.Idle,
            KVM_MP_STATE_UNINITIALIZED or KVM_MP_STATE_INIT_RECEIVED => HaltProbe.WaitingForSipi,
            _ => HaltProbe.Running,
        };
    }

    private VcpuExit? HandleExit()
    {
        uint reason = _run->exit_reason;
        switch (reason)
        {
            case KVM_EXIT_IO:
                // Writes the guest made before this access must reach devices before it does:
                // a coalesced MMIO write followed by a port write is seen in program order.
                DrainRing();
                return HandleIo();
            case KVM_EXIT_MMIO:
                DrainRing();
                return HandleMmio();
            case KVM_EXIT_HLT:
                return VcpuExit.Halted;
            case KVM_EXIT_INTR:
                return Interrupted();
            case KVM_EXIT_IRQ_WINDOW_OPEN:
                return null;
            case KVM_EXIT_SHUTDOWN:
                // A triple fault: on a PC the chipset resets the machine, so it is a reset (Linux's reboot=t uses it).
                return new VcpuExit(VcpuExitReason.Reset, "triple fault (KVM_EXIT_SHUTDOWN)");
            case KVM_EXIT_SYSTEM_EVENT:
                return HandleSystemEvent();
            case KVM_EXIT_FAIL_ENTRY:
                return Failure($"KVM_EXIT_FAIL_ENTRY: hardware_entry_failure_reason=0x{_run->fail_entry.hardware_entry_failure_reason:X} cpu={_run->fail_entry.cpu}");
            case KVM_EXIT_INTERNAL_ERROR:
                return Failure(DescribeInternalError());
            case KVM_EXIT_UNKNOWN:
                return Failure($"KVM_EXIT_UNKNOWN: hardware_exit_reason=0x{_run->hw.hardware_exit_reason:X}");
            case KVM_EXIT_EXCEPTION:
                return Failure($"KVM_EXIT_EXCEPTION: exception={_run->ex.exception} error_code=0x{_run->ex.error_code:X}");
            default:
                return Failure($"Unexpected KVM exit reason {reason}");
        }
    }

    private VcpuExit? HandleIo()
    {
        kvm_run_io io = _run->io;
        if (io.size is not (1 or 2 or 4))
        {
            return Failure($"KVM_EXIT_IO with invalid size {io.size} at port 0x{io.port:X}");
        }

        ulong total = (ulong)io.size * io.count;
        if (io.data_offset > (ulong)_kernel.RunPageSize || total > (ulong)_kernel.RunPageSize - io.data_offset)
        {
            return Failure($"KVM_EXIT_IO data (offset {io.data_offset}, {io.count} x {io.size} bytes) lies outside the {_kernel.RunPageSize}-byte kvm_run mapping");
        }

        var direction = io.direction == KVM_EXIT_IO_OUT ? TrapDirection.Write : TrapDirection.Read;
        byte* data = (byte*)_run + io.data_offset;
        for (uint i = 0; i < io.count; i++)
        {
            // Safe: the whole count x size block was bounds-checked against the mapping above.
            // For IN, the handler fills the kvm_run data area and the kernel completes the
            // instruction (REP INS included) from it on the next KVM_RUN.
            _dispatcher.Dispatch(Id, TrapBus.Pio, io.port, direction, new Span<byte>(data + (i * io.size), io.size));
        }

        return null;
    }

    private VcpuExit? HandleMmio()
    {
        uint length = _run->mmio.len;
        if (length is 0 or > MaxMmioLength)
        {
            return Failure($"KVM_EXIT_MMIO with invalid length {length} at 0x{_run->mmio.phys_addr:X}");
        }

        var direction = _run->mmio.is_write != 0 ? TrapDirection.Write : TrapDirection.Read;

        // Safe: mmio.data is an 8-byte array inside the mapped kvm_run and length <= 8. A read's
        // result stays there; the kernel writes it to the guest register on the next KVM_RUN.
        _dispatcher.Dispatch(Id, TrapBus.Mmio, _run->mmio.phys_addr, direction, new Span<byte>(_run->mmio.data, (int)length));
        return null;
    }

    private VcpuExit HandleSystemEvent()
    {
        uint type = _run->system_event.type;
        return type switch
        {
            KVM_SYSTEM_EVENT_SHUTDOWN => new VcpuExit(VcpuExitReason.Shutdown, "KVM_SYSTEM_EVENT_SHUTDOWN"),
            KVM_SYSTEM_EVENT_RESET => new VcpuExit(VcpuExitReason.Reset, "KVM_SYSTEM_EVENT_RESET"),
            KVM_SYSTEM_EVENT_CRASH => Failure("KVM_SYSTEM_EVENT_CRASH: the guest reported a crash"),
            _ => Failure($"Unexpected KVM_EXIT_SYSTEM_EVENT type {type}"),
        };
    }

    private string DescribeInternalError()
    {
        uint suberror = _run->@internal.suberror;
        uint count = Math.Min(_run->@internal.ndata, 16u);
        var data = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            data[i] = _run->@internal.data[i];
        }

        string name = suberror switch
        {
            KVM_INTERNAL_ERROR_EMULATION => "KVM_INTERNAL_ERROR_EMULATION",
            KVM_INTERNAL_ERROR_SIMUL_EX => "KVM_INTERNAL_ERROR_SIMUL_EX",
            KVM_INTERNAL_ERROR_DELIVERY_EV => "KVM_INTERNAL_ERROR_DELIVERY_EV",
            _ => $"suberror {suberror}",
        };
        return $"KVM_EXIT_INTERNAL_ERROR: {name} data=[{string.Join(' ', data.Select(d => $"0x{d:X}"))}]";
    }

    private void DrainRing()
    {
        if (_ring is not null)
        {
            CoalescedWrites += _ring.Drain(Id, _dispatcher);
        }
    }

    private VcpuExit Failure(string message) => new(VcpuExitReason.InternalError, message, CaptureDiagnostics());

    private VcpuDiagnostics? CaptureDiagnostics()
    {
        try
        {
            var regs = _kernel.GetRegs();
            var sregs = _kernel.GetSregs();
            ulong linear = sregs.cs.@base + regs.rip;
            byte[] bytes = [];
            if (_memory.IsRam(linear, MaxInstructionBytes))
            {
                bytes = new byte[MaxInstructionBytes];
                _memory.Read(linear, bytes);
            }

            var registers = new Dictionary<string, ulong>
            {
                ["rax"] = regs.rax, ["rbx"] = regs.rbx, ["rcx"] = regs.rcx, ["rdx"] = regs.rdx,
                ["rsi"] = regs.rsi, ["rdi"] = regs.rdi, ["rsp"] = regs.rsp, ["rbp"] = regs.rbp,
                ["rip"] = regs.rip, ["rflags"] = regs.rflags, ["cs"] = sregs.cs.selector, ["cs.base"] = sregs.cs.@base,
                ["cr0"] = sregs.cr0, ["cr3"] = sregs.cr3, ["cr4"] = sregs.cr4, ["efer"] = sregs.efer,
            };
            return new VcpuDiagnostics(linear, bytes, registers);
        }
        catch (KvmIoctlException)
        {
            // Diagnostics are best effort: the failure itself is what gets reported.
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _kernel.Dispose();
    }
}
