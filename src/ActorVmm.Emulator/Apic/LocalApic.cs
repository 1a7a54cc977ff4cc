using System.Numerics;
using ActorVmm.Emulator.Time;
using ActorVmm.Machine.Interrupts;
using static ActorVmm.Machine.Interrupts.LocalApicRegisters;

namespace ActorVmm.Emulator.Apic;

/// <summary>
/// One vCPU's xAPIC: ID and version, IRR/ISR/TMR, EOI (with the EOI broadcast of level-triggered vectors to the
/// IOAPIC), TPR/PPR, the spurious-vector register's software enable, DFR/LDR for logical destinations, the LVT
/// (LINT0 as ExtINT on the boot vCPU, as KVM sets it up), the timer (one-shot and periodic, divide configuration,
/// initial/current count on the VM's <see cref="VirtualClock"/>; TSC-deadline mode through IA32_TSC_DEADLINE, advertised
/// in CPUID), and IPIs through the ICR (fixed, lowest priority, NMI, INIT, start-up; shorthands; physical and logical
/// destinations), sent through an <see cref="IApicBus"/>. Not modelled: the thermal/performance/error LVT sources (no
/// such events), SMI, relocation through IA32_APIC_BASE, x2APIC.
/// </summary>
/// <remarks>
/// Interrupts are accepted from any thread (devices, the host, other vCPUs' IPIs); registers are read and written
/// by the owning vCPU thread. One lock per APIC keeps the two consistent; what the APIC sends (IPIs, EOI
/// broadcasts) leaves after the lock is released, so two APICs sending to each other never deadlock.
/// <see cref="HasRequests"/>, <see cref="HasEvents"/> and <see cref="TimerDeadline"/> are lock-free hints the vCPU
/// reads between instruction batches.
/// </remarks>
internal sealed class LocalApic
{
    /// <summary>No timer deadline armed.</summary>
    public const long NoDeadline = long.MaxValue;

    /// <summary>256 vectors in eight 32-bit words.</summary>
    private const int VectorWords = 8;

    /// <summary>Vectors 0–15 are reserved: a fixed interrupt with one is illegal and dropped.</summary>
    private const int FirstLegalVector = 16;

    private const int LvtCount = 6;
    private const uint LvtWritable = 0x0007_B7FF; // vector, delivery mode, polarity, trigger, mask, timer mode
    private const uint LvtTimerWritable = LvtVectorMask | LvtMasked | TimerModeMask;
    private const uint SpuriousWritable = 0x3FF; // vector and software enable
    private const uint TaskPriorityWritable = 0xFF;
    private const uint LogicalDestinationWritable = 0xFF00_0000;
    private const uint DestinationFormatWritable = 0xF000_0000;
    private const uint IcrLowWritable = 0x000C_CFFF; // vector, delivery mode, destination mode, level, trigger, shorthand
    private const uint IcrHighWritable = 0xFF00_0000;
    private const uint ClusterIdMask = 0xF0;
    private const uint ClusterMemberMask = 0x0F;
    private const int DivideCodeBy1 = 7;

    private readonly Lock _lock = new();
    private readonly uint[] _irr = new uint[VectorWords];
    private readonly uint[] _isr = new uint[VectorWords];
    private readonly uint[] _tmr = new uint[VectorWords];
    private readonly uint[] _lvt = new uint[LvtCount];
    private readonly VirtualClock _clock;
    private readonly IApicBus? _bus;
    private uint _taskPriority;
    private uint _spurious;
    private uint _logicalDestination;
    private uint _destinationFormat;
    private uint _icrLow;
    private uint _icrHigh;
    private uint _timerInitialCount;
    private uint _timerDivide;
    private long _timerStart;
    private long _timerDeadline = NoDeadline;
    private ulong _tscDeadline;
    private int _requests;
    private int _events;
    private byte _startupVector;
    private long _dropped;
    private long _timerInterrupts;

    /// <summary>Creates the APIC of vCPU <paramref name="id"/> in its reset state.</summary>
    /// <param name="id">The APIC ID (the vCPU id).</param>
    /// <param name="clock">The VM's time base (the timer counts on it); a fresh system clock when null.</param>
    /// <param name="bus">Where IPIs and EOI broadcasts go; none (they are dropped) when null.</param>
    public LocalApic(int id, VirtualClock? clock = null, IApicBus? bus = null)
    {
        Id = id;
        _clock = clock ?? new VirtualClock(TimeProvider.System);
        _bus = bus;
        ResetLocked(powerOn: true);
    }

    /// <summary>The APIC ID (the vCPU id).</summary>
    public int Id { get; }

    /// <summary>Lock-free hint: true while the IRR holds a vector (it may not be deliverable yet).</summary>
    public bool HasRequests => Volatile.Read(ref _requests) != 0;

    /// <summary>Lock-free hint: true while an INIT, start-up IPI or NMI waits for the core (<see cref="TakeEvents"/>).</summary>
    public bool HasEvents => Volatile.Read(ref _events) != 0;

    /// <summary>Lock-free: when the timer next expires (nanoseconds of the VM's clock), or <see cref="NoDeadline"/>.</summary>
    public long TimerDeadline => Volatile.Read(ref _timerDeadline);

    /// <summary>Timer interrupts requested so far (masked expiries not counted).</summary>
    public long TimerInterrupts => Interlocked.Read(ref _timerInterrupts);

    /// <summary>True when LINT0 is unmasked ExtINT, so the 8259's INTR reaches this vCPU.</summary>
    public bool AcceptsExtInt
    {
        get
        {
            uint lint0 = Volatile.Read(ref _lvt[LvtIndex(LvtLint0)]);
            return (lint0 & LvtMasked) == 0 && (lint0 & LvtDeliveryModeMask) == DeliveryModeExtInt;
        }
    }

    /// <summary>True when SVR's software-enable bit is set.</summary>
    public bool IsSoftwareEnabled
    {
        get
        {
            lock (_lock)
            {
                return (_spurious & SoftwareEnable) != 0;
            }
        }
    }

    /// <summary>Fixed interrupts refused: APIC software-disabled, or an illegal vector (0–15).</summary>
    public long DroppedInterrupts => Interlocked.Read(ref _dropped);

    /// <summary>
    /// A fixed-delivery interrupt arrives (MSI, IOAPIC, IPI): sets its IRR bit, and its TMR bit when
    /// <paramref name="levelTriggered"/> (so its EOI is broadcast to the IOAPIC). False when it is dropped because
    /// the APIC is software-disabled or the vector is illegal. A vector already requested stays requested once.
    /// </summary>
    public bool AcceptFixed(byte vector, bool levelTriggered = false)
    {
        lock (_lock)
        {
            return AcceptFixedLocked(vector, levelTriggered);
        }
    }

    /// <summary>An NMI arrives (IPI, LINT1, MSI): held for the core.</summary>
    public void AcceptNmi() => RaiseEvent(ApicEvents.Nmi);

    /// <summary>An INIT arrives: the core resets and waits for a start-up IPI.</summary>
    public void AcceptInit() => RaiseEvent(ApicEvents.Init);

    /// <summary>A start-up IPI arrives with start page <paramref name="vector"/> (only a core waiting for one acts on it).</summary>
    public void AcceptStartUp(byte vector)
    {
        lock (_lock)
        {
            _startupVector = vector;
            _events |= (int)ApicEvents.StartUp;
        }
    }

    /// <summary>Takes the pending INIT/start-up/NMI events (on the vCPU thread); <paramref name="startupVector"/> is the last start-up IPI's page.</summary>
    public ApicEvents TakeEvents(out byte startupVector)
    {
        lock (_lock)
        {
            var events = (ApicEvents)_events;
            startupVector = _startupVector;
            Volatile.Write(ref _events, 0);
            return events;
        }
    }

    /// <summary>INIT: every register back to its power-up value except the APIC ID (SDM 10.4.7.3); the timer stops.</summary>
    public void ResetForInit()
    {
        lock (_lock)
        {
            ResetLocked(powerOn: false);
        }
    }

    /// <summary>
    /// The INTA cycle on the vCPU thread: the highest requested vector whose priority class is above
    /// the processor priority moves from IRR to ISR and is returned. False when none qualifies.
    /// </summary>
    public bool TryAcknowledge(out byte vector)
    {
        lock (_lock)
        {
            int highest = HighestBit(_irr);
            if (highest < 0 || ((uint)highest & PriorityClassMask) <= (ProcessorPriorityLocked() & PriorityClassMask))
            {
                vector = 0;
                return false;
            }

            ClearBit(_irr, highest);
            SetBit(_isr, highest);
            Volatile.Write(ref _requests, _requests - 1);
            vector = (byte)highest;
            return true;
        }
    }

    /// <summary>
    /// The timer on the vCPU thread: when the deadline has passed, requests the LVT timer vector (unless masked) and
    /// re-arms a periodic timer for its next period after now (periods missed while the vCPU did not look are
    /// coalesced into one interrupt, as a late host would see them). True when an interrupt was requested.
    /// </summary>
    public bool PollTimer()
    {
        if (Volatile.Read(ref _timerDeadline) == NoDeadline)
        {
            return false;
        }

        long now = _clock.Nanoseconds;
        lock (_lock)
        {
            if (now < _timerDeadline)
            {
                return false;
            }

            uint lvt = _lvt[LvtIndex(LvtTimer)];
            if ((lvt & TimerModeMask) == TimerModeTscDeadline)
            {
                // TSC-deadline mode is one-shot: the MSR reads 0 once the timer fired.
                _tscDeadline = 0;
                Volatile.Write(ref _timerDeadline, NoDeadline);
            }
            else if ((lvt & TimerModeMask) == TimerModePeriodic)
            {
                long period = TimerPeriodLocked();
                long periods = ((now - _timerStart) / period) + 1;
                Volatile.Write(ref _timerDeadline, _timerStart + (periods * period));
            }
            else
            {
                Volatile.Write(ref _timerDeadline, NoDeadline);
            }

            if ((lvt & LvtMasked) != 0 || !AcceptFixedLocked((byte)(lvt & LvtVectorMask), levelTriggered: false))
            {
                return false;
            }

            Interlocked.Increment(ref _timerInterrupts);
            return true;
        }
    }

    /// <summary>True when an MSI with logical destination <paramref name="destination"/> addresses this APIC (flat or cluster model).</summary>
    public bool MatchesLogical(byte destination)
    {
        lock (_lock)
        {
            uint logicalId = _logicalDestination >> IdShift;
            if ((_destinationFormat & DestinationFormatWritable) == DestinationFormatFlat)
            {
                return (logicalId & destination) != 0;
            }

            return (logicalId & ClusterIdMask) == (destination & ClusterIdMask) && (logicalId & destination & ClusterMemberMask) != 0;
        }
    }

    /// <summary>Reads a 32-bit register at a 16-byte-aligned <paramref name="offset"/>; reserved offsets read 0.</summary>
    public uint ReadRegister(int offset)
    {
        lock (_lock)
        {
            return offset switch
            {
                LocalApicRegisters.Id => (uint)Id << IdShift,
                LocalApicRegisters.Version => VersionValue,
                TaskPriority => _taskPriority,
                ProcessorPriority => ProcessorPriorityLocked(),
                LogicalDestination => _logicalDestination,
                DestinationFormat => _destinationFormat,
                SpuriousVector => _spurious,
                InterruptCommandLow => _icrLow,
                InterruptCommandHigh => _icrHigh,
                TimerInitialCount => _timerInitialCount,
                TimerCurrentCount => CurrentCountLocked(),
                TimerDivide => _timerDivide,
                >= InService and < TriggerMode => _isr[(offset - InService) / Stride],
                >= TriggerMode and < InterruptRequest => _tmr[(offset - TriggerMode) / Stride],
                >= InterruptRequest and < ErrorStatus => _irr[(offset - InterruptRequest) / Stride],
                >= LvtTimer and <= LvtError => _lvt[LvtIndex(offset)],
                _ => 0, // APR, EOI, RRD, ESR (no errors are detected), reserved
            };
        }
    }

    /// <summary>
    /// Writes a 32-bit register at a 16-byte-aligned <paramref name="offset"/>; read-only and reserved offsets ignore
    /// it. A write to ICR low sends the IPI; an EOI of a level-triggered vector is broadcast.
    /// </summary>
    public void WriteRegister(int offset, uint value)
    {
        int eoiBroadcast = -1;
        bool sendIpi = false;
        uint command = 0;
        byte destination = 0;
        lock (_lock)
        {
            switch (offset)
            {
                case TaskPriority:
                    _taskPriority = value & TaskPriorityWritable;
                    break;
                case EndOfInterrupt:
                    int inService = HighestBit(_isr);
                    if (inService >= 0)
                    {
                        ClearBit(_isr, inService);
                        if (TestBit(_tmr, inService))
                        {
                            eoiBroadcast = inService;
                        }
                    }

                    break;
                case LogicalDestination:
                    _logicalDestination = value & LogicalDestinationWritable;
                    break;
                case DestinationFormat:
                    _destinationFormat = (value & DestinationFormatWritable) | ~DestinationFormatWritable;
                    break;
                case SpuriousVector:
                    _spurious = value & SpuriousWritable;
                    if ((_spurious & SoftwareEnable) == 0)
                    {
                        // Software-disabling the APIC masks every LVT entry (SDM 11.4.7.2).
                        for (int i = 0; i < LvtCount; i++)
                        {
                            Volatile.Write(ref _lvt[i], _lvt[i] | LvtMasked);
                        }
                    }

                    break;
                case InterruptCommandLow:
                    // Delivery is instantaneous: the delivery-status bit never reads pending.
                    _icrLow = value & IcrLowWritable;
                    sendIpi = true;
                    command = _icrLow;
                    destination = (byte)(_icrHigh >> IdShift);
                    break;
                case InterruptCommandHigh:
                    _icrHigh = value & IcrHighWritable;
                    break;
                case TimerInitialCount:
                    if ((_lvt[LvtIndex(LvtTimer)] & TimerModeMask) != TimerModeTscDeadline)
                    {
                        // In TSC-deadline mode the initial count is ignored (SDM 11.5.4.1).
                        _timerInitialCount = value;
                        StartTimerLocked(_clock.Nanoseconds);
                    }

                    break;
                case TimerDivide:
                    ChangeDivideLocked(value & TimerDivideMask);
                    break;
                case LvtTimer:
                    // While software-disabled, LVT entries stay masked; a change between one-shot and periodic does not
                    // restart the count, one to or from TSC-deadline mode disarms the timer (SDM 11.5.4.1).
                    uint oldMode = _lvt[LvtIndex(LvtTimer)] & TimerModeMask;
                    WriteLvtLocked(LvtTimer, value & LvtTimerWritable);
                    uint newMode = value & TimerModeMask;
                    if (oldMode != newMode && (oldMode == TimerModeTscDeadline || newMode == TimerModeTscDeadline))
                    {
                        _timerInitialCount = 0;
                        _tscDeadline = 0;
                        Volatile.Write(ref _timerDeadline, NoDeadline);
                    }

                    break;
                case > LvtTimer and <= LvtError:
                    WriteLvtLocked(offset, value & LvtWritable);
                    break;
                default:
                    break; // ID (read-only here), version, PPR, IRR/ISR/TMR, ESR, current count, reserved
            }
        }

        if (eoiBroadcast >= 0)
        {
            _bus?.BroadcastEoi((byte)eoiBroadcast);
        }

        if (sendIpi)
        {
            _bus?.SendIpi(Id, command, destination);
        }
    }

    /// <summary>IA32_TSC_DEADLINE as the guest reads it: the armed deadline, 0 when disarmed or fired (and outside TSC-deadline mode).</summary>
    public ulong ReadTscDeadline()
    {
        lock (_lock)
        {
            return _tscDeadline;
        }
    }

    /// <summary>
    /// A write of IA32_TSC_DEADLINE: in TSC-deadline mode arms the timer for when this vCPU's TSC reaches
    /// <paramref name="deadline"/> (0 disarms; a past deadline fires at once); ignored in the other modes.
    /// </summary>
    /// <param name="deadline">The TSC value written.</param>
    /// <param name="tscOffset">What the vCPU adds to the clock's TSC (its IA32_TSC writes).</param>
    public void WriteTscDeadline(ulong deadline, ulong tscOffset)
    {
        lock (_lock)
        {
            if ((_lvt[LvtIndex(LvtTimer)] & TimerModeMask) != TimerModeTscDeadline)
            {
                return;
            }

            _tscDeadline = deadline;
            if (deadline == 0)
            {
                Volatile.Write(ref _timerDeadline, NoDeadline);
                return;
            }

            // The clock's TSC at the deadline (modulo 2^64, as the offset was added), in nanoseconds of the clock,
            // saturating: a deadline beyond the clock's range never fires.
            ulong clockTsc = deadline - tscOffset;
            Int128 nanoseconds = (Int128)clockTsc * VirtualClock.NanosecondsPerSecond / VirtualClock.TscHz;
            Volatile.Write(ref _timerDeadline, nanoseconds >= NoDeadline ? NoDeadline - 1 : (long)nanoseconds);
        }
    }

    /// <summary>
    /// An MMIO read of 1–8 bytes at <paramref name="offset"/> inside the page: each byte comes from the
    /// 32-bit register of its 16-byte slot (bytes 4–15 of a slot read 0).
    /// </summary>
    public ulong Read(ulong offset, int size)
    {
        ulong value = 0;
        for (int i = 0; i < size; i++)
        {
            ulong at = offset + (ulong)i;
            int slotByte = (int)(at % Stride);
            if (at >= PageSize || slotByte >= sizeof(uint))
            {
                continue;
            }

            uint register = ReadRegister((int)(at - (ulong)slotByte));
            value |= (ulong)((register >> (8 * slotByte)) & 0xFF) << (8 * i);
        }

        return value;
    }

    /// <summary>
    /// An MMIO write: registers take aligned 32-bit writes (an 8-byte write sets the register from its low
    /// half); any other size or alignment is ignored, as KVM ignores it.
    /// </summary>
    public void Write(ulong offset, int size, ulong value)
    {
        if (offset % Stride != 0 || size is not (4 or 8) || offset >= PageSize)
        {
            return;
        }

        WriteRegister((int)offset, (uint)value);
    }

    /// <summary>The divisor of a divide configuration value (bits 0, 1, 3: 000b → 2 … 110b → 128, 111b → 1).</summary>
    public static int Divisor(uint divideConfiguration)
    {
        int code = (int)((divideConfiguration & 3) | ((divideConfiguration >> 1) & 4));
        return code == DivideCodeBy1 ? 1 : 2 << code;
    }

    private void RaiseEvent(ApicEvents events)
    {
        lock (_lock)
        {
            Volatile.Write(ref _events, _events | (int)events);
        }
    }

    private bool AcceptFixedLocked(byte vector, bool levelTriggered)
    {
        if ((_spurious & SoftwareEnable) == 0 || vector < FirstLegalVector)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }

        if (levelTriggered)
        {
            SetBit(_tmr, vector);
        }
        else
        {
            ClearBit(_tmr, vector);
        }

        if (SetBit(_irr, vector))
        {
            Volatile.Write(ref _requests, _requests + 1);
        }

        return true;
    }

    private void ResetLocked(bool powerOn)
    {
        Array.Clear(_irr);
        Array.Clear(_isr);
        Array.Clear(_tmr);
        Volatile.Write(ref _requests, 0);
        for (int i = 0; i < LvtCount; i++)
        {
            Volatile.Write(ref _lvt[i], LvtMasked);
        }

        if (powerOn)
        {
            // As KVM after reset and KvmRegisterSetup: LINT0 is ExtINT (unmasked on the boot vCPU only), LINT1 is NMI (masked).
            Volatile.Write(ref _lvt[LvtIndex(LvtLint0)], DeliveryModeExtInt | (Id == 0 ? 0 : LvtMasked));
            Volatile.Write(ref _lvt[LvtIndex(LvtLint1)], DeliveryModeNmi | LvtMasked);
        }

        _taskPriority = 0;
        _spurious = SpuriousVectorReset;
        _logicalDestination = 0;
        _destinationFormat = DestinationFormatReset;
        _icrLow = 0;
        _icrHigh = 0;
        _timerInitialCount = 0;
        _timerDivide = 0;
        _timerStart = 0;
        _tscDeadline = 0;
        Volatile.Write(ref _timerDeadline, NoDeadline);
    }

    private void WriteLvtLocked(int offset, uint entry) =>
        Volatile.Write(ref _lvt[LvtIndex(offset)], (_spurious & SoftwareEnable) == 0 ? entry | LvtMasked : entry);

    // One count of the timer in nanoseconds of the clock times the count: the input clock divided by the divisor.
    private long TimerPeriodLocked() => TicksToNanoseconds(_timerInitialCount);

    private long TicksToNanoseconds(long counts) =>
        (long)((Int128)counts * Divisor(_timerDivide) * VirtualClock.NanosecondsPerSecond / VirtualClock.ApicTimerHz);

    private void StartTimerLocked(long now)
    {
        _timerStart = now;
        Volatile.Write(ref _timerDeadline, _timerInitialCount == 0 ? NoDeadline : now + TimerPeriodLocked());
    }

    private uint CurrentCountLocked()
    {
        if (_timerInitialCount == 0 || (_lvt[LvtIndex(LvtTimer)] & TimerModeMask) == TimerModeTscDeadline)
        {
            return 0;
        }

        long elapsed = (long)((Int128)(_clock.Nanoseconds - _timerStart) * VirtualClock.ApicTimerHz / VirtualClock.NanosecondsPerSecond / Divisor(_timerDivide));
        if ((_lvt[LvtIndex(LvtTimer)] & TimerModeMask) == TimerModePeriodic)
        {
            return _timerInitialCount - (uint)(elapsed % _timerInitialCount);
        }

        // A one-shot count that expired stays at 0 (whatever the divisor does afterwards).
        return elapsed >= _timerInitialCount || _timerDeadline == NoDeadline ? 0 : _timerInitialCount - (uint)elapsed;
    }

    // A new divisor takes effect from now: the count carries on from where it is at the new rate.
    private void ChangeDivideLocked(uint divide)
    {
        if (_timerInitialCount == 0 || _timerDeadline == NoDeadline)
        {
            _timerDivide = divide;
            return;
        }

        long now = _clock.Nanoseconds;
        uint current = CurrentCountLocked();
        _timerDivide = divide;
        _timerStart = now - TicksToNanoseconds(_timerInitialCount - current);
        Volatile.Write(ref _timerDeadline, now + TicksToNanoseconds(current));
    }

    private uint ProcessorPriorityLocked()
    {
        int inService = HighestBit(_isr);
        uint inServiceClass = inService < 0 ? 0 : (uint)inService & PriorityClassMask;
        return (_taskPriority & PriorityClassMask) >= inServiceClass ? _taskPriority : inServiceClass;
    }

    private static int LvtIndex(int offset) => (offset - LvtTimer) / Stride;

    private static bool SetBit(uint[] words, int vector)
    {
        uint bit = 1u << (vector & 31);
        ref uint word = ref words[vector >> 5];
        bool wasClear = (word & bit) == 0;
        word |= bit;
        return wasClear;
    }

    private static bool TestBit(uint[] words, int vector) => (words[vector >> 5] & (1u << (vector & 31))) != 0;

    private static void ClearBit(uint[] words, int vector) => words[vector >> 5] &= ~(1u << (vector & 31));

    private static int HighestBit(uint[] words)
    {
        for (int i = VectorWords - 1; i >= 0; i--)
        {
            if (words[i] != 0)
            {
                return (i * 32) + 31 - BitOperations.LeadingZeroCount(words[i]);
            }
        }

        return -1;
    }
}
