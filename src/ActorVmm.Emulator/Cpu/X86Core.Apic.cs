using ActorVmm.Emulator.Apic;
using ActorVmm.Emulator.Time;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// The core's side of its local APIC: INIT and start-up IPIs (application processors wait for them), NMIs, the APIC
/// timer (polled between batches, and a host timer that wakes a halted vCPU at the deadline), the TSC on the VM's
/// virtual clock, and the IOAPIC window.
/// </summary>
internal sealed partial class X86Core
{
    /// <summary>A start-up IPI's vector is the start page: execution begins at vector × 4 KiB.</summary>
    private const int StartupPageShift = 12;

    /// <summary>The NMI's vector.</summary>
    private const byte NmiVector = 2;

    /// <summary>IA32_TSC_DEADLINE: the local APIC timer's deadline in TSC-deadline mode.</summary>
    internal const uint MsrTscDeadline = 0x6E0;

    private bool _waitForSipi;
    private bool _nmiPending;
    private bool _nmiBlocked;
    private long _tscOffset;
    private ITimer? _wakeTimer;
    private long _armedDeadline = LocalApic.NoDeadline;
    private int _wakeTimerFired;

    /// <summary>True while the core waits for a start-up IPI (application processors after reset and after INIT).</summary>
    public bool IsWaitingForStartup => _waitForSipi;

    /// <summary>The TSC as this vCPU reads it: the VM's virtual clock at <see cref="VirtualClock.TscHz"/> plus what the guest wrote to IA32_TSC.</summary>
    internal ulong ReadTsc() => _machine.Clock.Tsc + (ulong)_tscOffset;

    /// <summary>A guest write to IA32_TSC: this vCPU's TSC continues from <paramref name="value"/> (the others' do not change, as on hardware).</summary>
    private void WriteTsc(ulong value) => _tscOffset = (long)(value - _machine.Clock.Tsc);

    /// <summary>IA32_APIC_BASE after reset: the default base, globally enabled, the BSP flag on vCPU 0 (as KVM sets it).</summary>
    private ulong ApicBaseReset => LocalApicRegisters.DefaultBase | LocalApicRegisters.ApicBaseEnable | (Id == 0 ? LocalApicRegisters.ApicBaseBootProcessor : 0);

    private static bool IsIoApic(ulong physical) => physical - X86MemoryMap.IoApicBase < X86MemoryMap.ApicSize;

    /// <summary>
    /// Between instructions: INIT, start-up IPIs and NMIs first (IF does not gate them), then the APIC timer. False while
    /// the core waits for a start-up IPI (nothing else may run).
    /// </summary>
    private bool ServiceApic()
    {
        if (_apic.HasEvents)
        {
            TakeApicEvents();
        }

        if (_waitForSipi)
        {
            return false;
        }

        if (_apic.TimerDeadline != LocalApic.NoDeadline)
        {
            _apic.PollTimer();
        }

        ArmWakeTimer();
        return true;
    }

    private void TakeApicEvents()
    {
        var events = _apic.TakeEvents(out byte startupVector);
        if ((events & ApicEvents.Init) != 0)
        {
            // INIT: the processor resets (the TSC keeps counting) and waits for a start-up IPI.
            ResetToRealMode();
            _apic.ResetForInit();
            _nmiPending = false;
            _nmiBlocked = false;
            _waitForSipi = true;
            _halted = true;
        }

        if ((events & ApicEvents.StartUp) != 0 && _waitForSipi)
        {
            // Real mode at vector × 4 KiB: CS selector vector × 256, base vector × 4 KiB, IP 0.
            ResetToRealMode();
            LoadRealSegment(CS, (ushort)(startupVector << (StartupPageShift - 4)));
            Rip = 0;
            UpdateMode();
            _waitForSipi = false;
            _halted = false;
        }

        if ((events & ApicEvents.Nmi) != 0 && !_waitForSipi)
        {
            _nmiPending = true;
        }
    }

    /// <summary>Delivers a pending NMI unless one is being handled (blocked until the next IRET). True when delivered.</summary>
    private bool TryDeliverNmi()
    {
        if (!_nmiPending || _nmiBlocked)
        {
            return false;
        }

        _nmiPending = false;
        _nmiBlocked = true;
        _halted = false;
        try
        {
            DeliverInterrupt(NmiVector, errorCode: null, software: false);
        }
        catch (GuestFault fault)
        {
            DeliverException(fault);
        }

        return true;
    }

    /// <summary>Keeps a host timer armed for the APIC timer's deadline, so a halted vCPU wakes when it expires.</summary>
    private void ArmWakeTimer()
    {
        long deadline = _apic.TimerDeadline;

        // A host timer may fire before the virtual deadline (host timers round to milliseconds): arm it again then.
        bool fired = Interlocked.Exchange(ref _wakeTimerFired, 0) != 0;
        if (deadline == _armedDeadline && !fired)
        {
            return;
        }

        _armedDeadline = deadline;
        if (deadline == LocalApic.NoDeadline)
        {
            _wakeTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        _wakeTimer ??= _machine.Clock.Time.CreateTimer(static state => ((X86Core)state!).OnWakeTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        // Whole milliseconds, rounded up: the system timer queue truncates to them and would otherwise fire early.
        _wakeTimer.Change(TimeSpan.FromMilliseconds(Math.Ceiling(_machine.Clock.Until(deadline).TotalMilliseconds)), Timeout.InfiniteTimeSpan);
    }

    private void OnWakeTimer()
    {
        Volatile.Write(ref _wakeTimerFired, 1);
        _machine.Bus.Wake(Id);
    }

    private void DisposeApicTimer() => _wakeTimer?.Dispose();
}
