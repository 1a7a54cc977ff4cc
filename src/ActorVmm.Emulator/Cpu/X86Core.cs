using ActorVmm.Emulator.Apic;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// One emulated x86 vCPU: an interpreter over instructions decoded by Iced and cached per guest
/// page. Runs on the vCPU thread; port I/O and MMIO go synchronously through the trap dispatcher.
/// </summary>
internal sealed partial class X86Core : IVcpuCore
{
    /// <summary>Instructions executed between checks for exit requests and external interrupts.</summary>
    public const int BatchSize = 4096;

    internal const int ES = 0;
    internal const int CS = 1;
    internal const int SS = 2;
    internal const int DS = 3;
    internal const int FS = 4;
    internal const int GS = 5;

    internal const int RAX = 0;
    internal const int RCX = 1;
    internal const int RDX = 2;
    internal const int RBX = 3;
    internal const int RSP = 4;
    internal const int RBP = 5;
    internal const int RSI = 6;
    internal const int RDI = 7;

    private static readonly ulong[] SizeMask = [0, 0xFF, 0xFFFF, 0, 0xFFFF_FFFF, 0, 0, 0, ulong.MaxValue];
    private static readonly ulong[] SignBit = [0, 0x80, 0x8000, 0, 0x8000_0000, 0, 0, 0, 0x8000_0000_0000_0000];

    private readonly EmulatorMachine _machine;
    private readonly GuestMemory _memory;
    private readonly TrapDispatcher _dispatcher;
    private readonly CodePageTracker _code;
    private readonly LocalApic _apic;
    private readonly DoorbellTable _doorbells;
    private readonly byte[] _io = new byte[16];

    internal readonly ulong[] Gpr = new ulong[16];
    internal readonly Segment[] Seg = new Segment[6];
    internal ulong Rip;
    internal ulong Flags = RFlags.Reserved1;
    internal ulong Cr0;
    internal ulong Cr2;
    internal ulong Cr3;
    internal ulong Cr4;
    internal ulong Efer;
    internal ulong GdtBase;
    internal uint GdtLimit;
    internal ulong IdtBase;
    internal uint IdtLimit = 0x3FF;
    internal ulong KernelGsBase;

    private volatile bool _exitRequested;
    private bool _halted;
    private VcpuExit? _pendingExit;
    private int _budget;
    private ulong _instrStart;
    private int _bitness = 16;
    private ulong _ipMask = 0xFFFF;
    private ulong _spMask = 0xFFFF;
    private long _retired;

    public X86Core(int id, EmulatorMachine machine)
    {
        Id = id;
        _machine = machine;
        _memory = machine.Memory;
        _dispatcher = machine.Dispatcher;
        _code = machine.Code;
        _apic = machine.Apics[id];
        _doorbells = machine.Doorbells;
        var ram = _memory.Regions[0];
        _ramBase = ram.GuestPhysicalAddress;
        _ramSize = ram.Size;
        _ramHost = ram.HostAddress;
        _hostTlbBase = HostTlbAddress(_hostTlb);
        _decoders = [Decoder.Create(16, _reader), Decoder.Create(32, _reader), Decoder.Create(64, _reader)];
        ResetToRealMode();
        _msrs[MsrApicBase] = ApicBaseReset;

        // Application processors wait for INIT and a start-up IPI, as after a PC's reset (unless given an entry state).
        _waitForSipi = _halted = id != 0;
    }

    /// <inheritdoc />
    public int Id { get; }

    /// <summary>Instructions retired so far.</summary>
    public long InstructionsRetired => Volatile.Read(ref _retired);

    /// <summary>True while the vCPU waits in HLT for an interrupt.</summary>
    public bool IsHalted => _halted;

    /// <summary>The code bitness the core currently executes (16, 32 or 64).</summary>
    public int Bitness => _bitness;

    /// <inheritdoc />
    public void SetEntryState(VcpuEntryState entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _waitForSipi = false;
        if (entry is LongModeEntry longMode)
        {
            EnterLongMode(longMode);
            return;
        }

        if (entry is not RealModeEntry real)
        {
            throw new ArgumentException($"The emulator does not support entry state {entry.GetType().Name}", nameof(entry));
        }

        ResetToRealMode();
        LoadRealSegment(CS, real.CodeSegment);
        foreach (int s in (ReadOnlySpan<int>)[DS, ES, SS, FS, GS])
        {
            LoadRealSegment(s, real.DataSegment);
        }

        Rip = real.InstructionPointer;
        Gpr[RSP] = real.StackPointer;
        UpdateMode();
    }

    /// <inheritdoc />
    public void RequestExit()
    {
        _exitRequested = true;
        _budget = 0;
    }

    /// <inheritdoc />
    public VcpuExit Run()
    {
        if (_exitRequested)
        {
            _exitRequested = false;
            return VcpuExit.Interrupted;
        }

        if (_halted)
        {
            // A halted core (or one waiting for a start-up IPI) runs again only once something woke it.
            TryDeliverExternalInterrupt();
            if (_halted)
            {
                return VcpuExit.Halted;
            }
        }

        while (true)
        {
            if (_exitRequested)
            {
                _exitRequested = false;
                return VcpuExit.Interrupted;
            }

            if (_pendingExit is { } exit)
            {
                _pendingExit = null;
                return exit;
            }

            if (_halted)
            {
                return VcpuExit.Halted;
            }

            try
            {
                TryDeliverExternalInterrupt();
                if (_halted)
                {
                    continue; // INIT: wait for a start-up IPI
                }

                _budget = BatchSize;
                _lastBlock = null;
                _atBlockHead = true;
                if (TranslationEnabled)
                {
                    if (!_compiled.IsEmpty)
                    {
                        InstallCompiledBlocks();
                    }

                    while (_budget > 0)
                    {
                        StepOrRunBlock();
                    }
                }
                else
                {
                    while (_budget > 0)
                    {
                        _budget--;
                        Step();
                    }
                }
            }
            catch (GuestFault fault)
            {
                Rip = _instrStart;
                DeliverException(fault);
            }
            catch (EmulationException ex)
            {
                Rip = _instrStart;
                return new VcpuExit(VcpuExitReason.InternalError, ex.Message, CaptureDiagnostics());
            }
        }
    }

    /// <summary>Executes one instruction (faults propagate as <see cref="GuestFault"/>).</summary>
    internal void Step()
    {
        _instrStart = Rip;
        ExecuteCached(ref Fetch());
    }

    /// <summary>Interprets the fetched instruction at <see cref="Rip"/>.</summary>
    private void ExecuteCached(ref CachedInstruction cached)
    {
        Rip = (Rip + cached.Length) & _ipMask;
        _retired++;
        if (cached.Kind == FastKind.Generic || !ExecuteFast(ref cached))
        {
            Execute(ref cached.Instruction);
        }
    }

    /// <summary>Executes one instruction for tests, delivering faults as the run loop would.</summary>
    internal void StepForTest()
    {
        try
        {
            Step();
        }
        catch (GuestFault fault)
        {
            Rip = _instrStart;
            DeliverException(fault);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Guest RAM belongs to the VM; only the APIC timer's host timer is the core's.
        DisposeApicTimer();
    }

    private void Halt()
    {
        // An interrupt already deliverable ends the halt at once (STI; HLT with INTR asserted).
        _halted = true;
        _budget = 0;
        TryDeliverExternalInterrupt();
    }

    /// <summary>
    /// Takes INIT/start-up/NMI and polls the APIC timer; then an NMI, or with IF set one external interrupt: first the
    /// 8259's (an INTA cycle) when LINT0 is unmasked ExtINT, then the local APIC's highest deliverable request, the
    /// order KVM uses.
    /// </summary>
    private bool TryDeliverExternalInterrupt()
    {
        if (!ServiceApic())
        {
            return false;
        }

        if (TryDeliverNmi())
        {
            return true;
        }

        if ((Flags & RFlags.IF) == 0)
        {
            return false;
        }

        byte vector = 0;
        var controller = _machine.Controller;
        bool extInt = controller is not null && _apic.AcceptsExtInt && controller.HasPendingInterrupt && controller.TryAcknowledge(out vector);
        if (!extInt && !(_apic.HasRequests && _apic.TryAcknowledge(out vector)))
        {
            return false;
        }

        _halted = false;
        try
        {
            DeliverInterrupt(vector, errorCode: null, software: false);
        }
        catch (GuestFault fault)
        {
            DeliverException(fault);
        }

        return true;
    }
}
