using System.Numerics;
using ActorVmm.Machine.Interrupts;
using static ActorVmm.Machine.Interrupts.LocalApicRegisters;

namespace ActorVmm.Emulator.Apic;

/// <summary>
/// One vCPU's local APIC, as much of it as fixed-delivery MSIs and the 8259's ExtINT need: ID and
/// version, IRR/ISR, EOI, TPR/PPR, the spurious-vector register's software enable, DFR/LDR for logical
/// destinations, and the LVT (LINT0 as ExtINT on the boot vCPU, as KVM sets it up). Not modelled: the
/// APIC timer (current count reads 0), IPIs (ICR writes are kept, nothing is sent), NMI/SMI/INIT
/// delivery, level-triggered EOI broadcast, relocation through IA32_APIC_BASE.
/// </summary>
/// <remarks>
/// Interrupts are accepted from any thread (devices, the host); everything else runs on the owning
/// vCPU thread. One lock per APIC keeps the two consistent; <see cref="HasRequests"/> is a lock-free
/// hint the vCPU reads between instruction batches.
/// </remarks>
internal sealed class LocalApic
{
    /// <summary>256 vectors in eight 32-bit words.</summary>
    private const int VectorWords = 8;

    /// <summary>Vectors 0–15 are reserved: a fixed interrupt with one is illegal and dropped.</summary>
    private const int FirstLegalVector = 16;

    private const int LvtCount = 6;
    private const uint LvtWritable = 0x0007_B7FF; // vector, delivery mode, polarity, trigger, mask, timer mode
    private const uint SpuriousWritable = 0x3FF; // vector and software enable
    private const uint TaskPriorityWritable = 0xFF;
    private const uint LogicalDestinationWritable = 0xFF00_0000;
    private const uint DestinationFormatWritable = 0xF000_0000;
    private const uint ClusterIdMask = 0xF0;
    private const uint ClusterMemberMask = 0x0F;

    private readonly Lock _lock = new();
    private readonly uint[] _irr = new uint[VectorWords];
    private readonly uint[] _isr = new uint[VectorWords];
    private readonly uint[] _lvt = new uint[LvtCount];
    private uint _taskPriority;
    private uint _spurious = SpuriousVectorReset;
    private uint _logicalDestination;
    private uint _destinationFormat = DestinationFormatReset;
    private uint _icrLow;
    private uint _icrHigh;
    private uint _timerInitialCount;
    private uint _timerDivide;
    private int _requests;
    private long _dropped;

    /// <summary>Creates the APIC of vCPU <paramref name="id"/> in its reset state.</summary>
    public LocalApic(int id)
    {
        Id = id;
        Array.Fill(_lvt, LvtMasked);
        // As KVM after reset and KvmRegisterSetup: LINT0 is ExtINT (unmasked on the boot vCPU only), LINT1 is NMI (masked).
        _lvt[LvtIndex(LvtLint0)] = DeliveryModeExtInt | (id == 0 ? 0 : LvtMasked);
        _lvt[LvtIndex(LvtLint1)] = DeliveryModeNmi | LvtMasked;
    }

    /// <summary>The APIC ID (the vCPU id).</summary>
    public int Id { get; }

    /// <summary>Lock-free hint: true while the IRR holds a vector (it may not be deliverable yet).</summary>
    public bool HasRequests => Volatile.Read(ref _requests) != 0;

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
    /// A fixed-delivery interrupt arrives (MSI): sets its IRR bit. False when it is dropped because the
    /// APIC is software-disabled or the vector is illegal. A vector already requested stays requested once.
    /// </summary>
    public bool AcceptFixed(byte vector)
    {
        lock (_lock)
        {
            if ((_spurious & SoftwareEnable) == 0 || vector < FirstLegalVector)
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }

            if (SetBit(_irr, vector))
            {
                Volatile.Write(ref _requests, _requests + 1);
            }

            return true;
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
                TimerDivide => _timerDivide,
                >= InService and < TriggerMode => _isr[(offset - InService) / Stride],
                >= InterruptRequest and < ErrorStatus => _irr[(offset - InterruptRequest) / Stride],
                >= LvtTimer and <= LvtError => _lvt[LvtIndex(offset)],
                _ => 0, // APR, EOI, RRD, TMR (edge only), ESR, timer current count, reserved
            };
        }
    }

    /// <summary>Writes a 32-bit register at a 16-byte-aligned <paramref name="offset"/>; read-only and reserved offsets ignore it.</summary>
    public void WriteRegister(int offset, uint value)
    {
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
                    _icrLow = value;
                    break;
                case InterruptCommandHigh:
                    _icrHigh = value;
                    break;
                case TimerInitialCount:
                    _timerInitialCount = value;
                    break;
                case TimerDivide:
                    _timerDivide = value;
                    break;
                case >= LvtTimer and <= LvtError:
                    // While software-disabled, LVT entries stay masked.
                    uint entry = value & LvtWritable;
                    Volatile.Write(ref _lvt[LvtIndex(offset)], (_spurious & SoftwareEnable) == 0 ? entry | LvtMasked : entry);
                    break;
                default:
                    break; // ID (read-only here), version, PPR, IRR/ISR/TMR, ESR, reserved
            }
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
