using ActorVmm.Machine.Boot;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Segments and descriptors, control registers, MSRs, CPUID and system-table instructions.</summary>
internal sealed partial class X86Core
{
    internal const uint MsrTsc = 0x10;
    internal const uint MsrApicBase = 0x1B;
    internal const uint MsrPat = 0x277;
    internal const uint MsrEfer = 0xC000_0080;
    internal const uint MsrStar = 0xC000_0081;
    internal const uint MsrLstar = 0xC000_0082;
    internal const uint MsrCstar = 0xC000_0083;
    internal const uint MsrFmask = 0xC000_0084;
    internal const uint MsrFsBase = 0xC000_0100;
    internal const uint MsrGsBase = 0xC000_0101;
    internal const uint MsrKernelGsBase = 0xC000_0102;

    /// <summary>IA32_TSC_AUX: the value RDTSCP returns in ECX (bits 63:32 reserved).</summary>
    internal const uint MsrTscAux = 0xC000_0103;

    /// <summary>CR4.TSD: RDTSC/RDTSCP raise #GP above CPL 0.</summary>
    internal const ulong Cr4TSD = 1UL << 2;

    /// <summary>Real-mode data/code segment attributes: present, accessed read/write (or execute/read for CS).</summary>
    private const uint RealDataAttributes = 0x93;
    private const uint RealCodeAttributes = 0x9B;
    private const ulong DescriptorPresent = 1UL << 47;

    /// <summary>Descriptor bit 44 (S): a code or data segment, not a system descriptor.</summary>
    private const ulong DescriptorSegment = 1UL << 44;

    /// <summary>Descriptor bit 43: code segment (else data).</summary>
    private const ulong DescriptorCode = 1UL << 43;

    /// <summary>Descriptor bit 42: conforming (code) or expand-down (data).</summary>
    private const ulong DescriptorConforming = 1UL << 42;

    /// <summary>Descriptor bit 41: readable (code) or writable (data).</summary>
    private const ulong DescriptorReadWrite = 1UL << 41;

    /// <summary>EFER bits WRMSR may change: SCE, LME, NXE (LMA follows CR0.PG).</summary>
    private const ulong EferWritable = (1UL << 0) | EferLME | EferNXE;

    /// <summary>CR4.DE: debugging extensions (DR4/DR5 raise #UD).</summary>
    internal const ulong Cr4DE = 1UL << 3;

    /// <summary>DR6 bits that always read as 1 (reset value 0xFFFF0FF0).</summary>
    internal const ulong Dr6Fixed = 0xFFFF_0FF0;

    /// <summary>DR6 bits software may change: B0-B3, BD, BS, BT.</summary>
    private const ulong Dr6Writable = 0xE00F;

    /// <summary>DR7 bit 10 always reads as 1 (reset value 0x400).</summary>
    internal const ulong Dr7Fixed = 0x400;

    /// <summary>DR7 L0/G0..L3/G3: enabled hardware breakpoints, which the core does not implement.</summary>
    private const ulong Dr7BreakpointEnables = 0xFF;

    /// <summary>DR7.GD: general detect (#DB on debug-register access).</summary>
    private const ulong Dr7GeneralDetect = 1UL << 13;

    /// <summary>EFER.SCE: SYSCALL/SYSRET enabled.</summary>
    internal const ulong EferSCE = 1UL << 0;

    /// <summary>TSS descriptor types: available and busy 32/64-bit TSS.</summary>
    private const uint TssAvailable = 0x9;
    private const uint TssBusy = 0xB;

    /// <summary>64-bit TSS: RSP0 at offset 4 (RSP1, RSP2 follow), IST1 at offset 0x24 (IST2-7 follow).</summary>
    internal const ulong TssRsp0 = 0x04;
    internal const ulong TssIst1 = 0x24;

    /// <summary>What SYSCALL/SYSRET load into the hidden parts of CS and SS: flat, present, accessed; L for code; DPL 0 or 3.</summary>
    private const uint FlatKernelCode64 = 0x209B;
    private const uint FlatKernelData = 0xC093;
    private const uint FlatUserCode64 = 0x20FB;
    private const uint FlatUserData = 0xC0F3;

    private const int R11 = 11;

    private readonly Dictionary<uint, ulong> _msrs = [];

    /// <summary>TR's selector and cached TSS base (LTR).</summary>
    internal ushort TrSelector;
    internal ulong TrBase;

    /// <summary>TR's cached limit in bytes (the I/O permission bitmap must lie inside it).</summary>
    internal uint TrLimit;

    /// <summary>DR0-DR7 (DR4/DR5 slots unused: they alias DR6/DR7).</summary>
    internal readonly ulong[] Dr = new ulong[8];

    private void ResetToRealMode()
    {
        Array.Clear(Gpr);
        for (int s = 0; s < Seg.Length; s++)
        {
            Seg[s] = new Segment { Selector = 0, Base = 0, Limit = 0xFFFF, Attributes = s == CS ? RealCodeAttributes : RealDataAttributes };
        }

        Rip = 0;
        Flags = RFlags.Reserved1;
        Cr0 = 0x10;
        Cr2 = Cr3 = Cr4 = Efer = 0;
        IdtBase = 0;
        IdtLimit = 0x3FF;
        GdtBase = 0;
        GdtLimit = 0xFFFF;
        _halted = false;
        _pendingExit = null;
        ResetFpu();
        TrSelector = 0;
        TrBase = 0;
        TrLimit = 0;
        Array.Clear(Dr);
        Dr[6] = Dr6Fixed;
        Dr[7] = Dr7Fixed;
        FlushTlb();
        UpdateMode();
    }

    /// <summary>
    /// Puts the core in flat 32-bit protected mode or 64-bit mode for tests. The 64-bit state is a test-only
    /// shortcut: EFER.LMA and a long code segment without CR0.PG, so linear addresses map one-to-one to RAM
    /// without page tables (hardware would require paging; guests reach long mode the real way).
    /// </summary>
    internal void SetFlatMode(int bitness)
    {
        ResetToRealMode();
        Cr0 = Cr0PE | 0x10;
        uint code = bitness == 64 ? 0xA09Bu : 0xC09Bu;
        for (int s = 0; s < Seg.Length; s++)
        {
            Seg[s] = new Segment { Selector = (ushort)(s == CS ? 0x08 : 0x10), Base = 0, Limit = 0xFFFF_FFFF, Attributes = s == CS ? code : 0xC093u };
        }

        if (bitness == 64)
        {
            Efer = EferLME | EferLMA;
            Cr4 = Cr4PAE;
        }

        FlushTlb();
        UpdateMode();
    }

    /// <summary>The 64-bit entry the KVM backend also uses: tables written to RAM, paging on, flat segments from the GDT.</summary>
    private void EnterLongMode(LongModeEntry entry)
    {
        LongModeEntry.WriteTables(_memory);
        ResetToRealMode();
        GdtBase = LongModeEntry.GdtAddress;
        GdtLimit = (uint)((LongModeEntry.GdtEntries.Count * sizeof(ulong)) - 1);
        IdtBase = LongModeEntry.IdtAddress;
        IdtLimit = sizeof(ulong) - 1;
        Cr3 = LongModeEntry.Pml4Address;
        Cr4 = Cr4PAE;
        Efer = EferLME | EferLMA;
        Cr0 = Cr0PE | Cr0PG | 0x10;
        FlushTlb();
        LoadSegment(CS, LongModeEntry.CodeSelector);
        foreach (int s in (ReadOnlySpan<int>)[DS, ES, FS, GS, SS])
        {
            LoadSegment(s, LongModeEntry.DataSelector);
        }

        Rip = entry.InstructionPointer;
        Gpr[RSP] = entry.StackPointer;
        Gpr[RBP] = entry.StackPointer;
        Gpr[RSI] = entry.BootParams;
        UpdateMode();
    }

    /// <summary>Recomputes code bitness and the IP/SP masks after CS, SS, CR0 or EFER changed.</summary>
    private void UpdateMode()
    {
        if ((Cr0 & Cr0PE) == 0)
        {
            _bitness = 16;
        }
        else if ((Efer & EferLMA) != 0 && Seg[CS].Long)
        {
            _bitness = 64;
        }
        else
        {
            _bitness = Seg[CS].Big ? 32 : 16;
        }

        _ipMask = _bitness switch { 64 => ulong.MaxValue, 32 => 0xFFFF_FFFF, _ => 0xFFFF };
        _spMask = _bitness == 64 ? ulong.MaxValue : (Cr0 & Cr0PE) != 0 && Seg[SS].Big ? 0xFFFF_FFFF : 0xFFFF;
        _userAccess = CurrentPrivilegeLevel == 3 ? 3 : 0;
        ResetFetchPage();
    }

    private void LoadRealSegment(int segment, ushort selector)
    {
        Seg[segment].Selector = selector;
        Seg[segment].Base = (ulong)selector << 4;
    }

    /// <summary>Loads a segment register: real-mode arithmetic, or a GDT descriptor in protected mode.</summary>
    internal void LoadSegment(int segment, ushort selector)
    {
        if ((Cr0 & Cr0PE) == 0)
        {
            LoadRealSegment(segment, selector);
            if (segment is CS or SS)
            {
                UpdateMode();
            }

            return;
        }

        if ((selector & 0xFFFC) == 0)
        {
            // A null SS is allowed only in 64-bit mode below CPL 3 with RPL = CPL (SDM MOV/POP/LSS).
            if (segment == CS || (segment == SS && (_bitness != 64 || CurrentPrivilegeLevel == 3 || (selector & 3) != CurrentPrivilegeLevel)))
            {
                throw new GuestFault(ExceptionVector.GP, 0);
            }

            Seg[segment] = new Segment { Selector = selector };
            return;
        }

        ulong descriptor = ReadDescriptor(selector);
        bool isCode = (descriptor & DescriptorCode) != 0;
        bool isSystem = (descriptor & DescriptorSegment) == 0;
        if (isSystem || (segment == CS && !isCode))
        {
            throw new GuestFault(ExceptionVector.GP, (uint)(selector & 0xFFFC));
        }

        if (segment != CS)
        {
            CheckDataSegmentLoad(segment, selector, descriptor);
        }

        if ((descriptor & DescriptorPresent) == 0)
        {
            throw new GuestFault(segment == SS ? ExceptionVector.SS : ExceptionVector.NP, (uint)(selector & 0xFFFC));
        }

        uint limit = (uint)((descriptor & 0xFFFF) | ((descriptor >> 32) & 0xF_0000));
        uint attributes = (uint)((descriptor >> 40) & 0xF0FF);
        if ((attributes & (1u << 15)) != 0)
        {
            limit = (limit << 12) | 0xFFF;
        }

        Seg[segment] = new Segment
        {
            Selector = selector,
            Base = ((descriptor >> 16) & 0xFF_FFFF) | (((descriptor >> 56) & 0xFF) << 24),
            Limit = limit,
            Attributes = attributes,
        };

        if (segment is CS or SS)
        {
            UpdateMode();
        }
    }

    /// <summary>
    /// The type and privilege rules of loading SS or a data segment register in protected mode (SDM MOV, POP, LDS):
    /// SS needs a writable data segment with RPL = DPL = CPL; DS/ES/FS/GS need data or readable code, and unless the code
    /// is conforming a DPL at least as large as both CPL and RPL. A violation is #GP(selector). CS loads are checked by the
    /// far transfer that does them.
    /// </summary>
    private void CheckDataSegmentLoad(int segment, ushort selector, ulong descriptor)
    {
        bool isCode = (descriptor & DescriptorCode) != 0;
        bool readWrite = (descriptor & DescriptorReadWrite) != 0;
        bool conforming = isCode && (descriptor & DescriptorConforming) != 0;
        int dpl = (int)(descriptor >> 45) & 3;
        int rpl = selector & 3;
        int cpl = CurrentPrivilegeLevel;
        bool allowed = segment == SS
            ? !isCode && readWrite && rpl == cpl && dpl == cpl
            : (!isCode || readWrite) && (conforming || (dpl >= cpl && dpl >= rpl));
        if (!allowed)
        {
            throw new GuestFault(ExceptionVector.GP, (uint)(selector & 0xFFFC));
        }
    }

    /// <summary>#GP(0) unless CPL is 0: the privileged instructions (SDM vol. 3, 5.9).</summary>
    private void RequireCpl0()
    {
        if (CurrentPrivilegeLevel != 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }
    }

    /// <summary>CPL: CS.RPL in protected mode, 0 in real mode.</summary>
    internal int CurrentPrivilegeLevel => (Cr0 & Cr0PE) == 0 ? 0 : Seg[CS].Selector & 3;

    /// <summary>
    /// LTR: caches the TSS base from the GDT (a 16-byte descriptor in long mode) for the stack switch of interrupt
    /// delivery (RSP0-2, IST1-7). No task switching: the busy bit is not set.
    /// </summary>
    private void LoadTaskRegister(ushort selector)
    {
        if ((selector & 0xFFFC) == 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        ulong descriptor = ReadDescriptor(selector);
        uint type = (uint)(descriptor >> 40) & 0xF;
        if ((descriptor & (1UL << 44)) != 0 || type is not (TssAvailable or TssBusy))
        {
            throw new GuestFault(ExceptionVector.GP, (uint)(selector & 0xFFFC));
        }

        if ((descriptor & DescriptorPresent) == 0)
        {
            throw new GuestFault(ExceptionVector.NP, (uint)(selector & 0xFFFC));
        }

        ulong tssBase = ((descriptor >> 16) & 0xFF_FFFF) | (((descriptor >> 56) & 0xFF) << 24);
        if ((Efer & EferLMA) != 0)
        {
            tssBase |= (ReadSystemLinear(GdtBase + (uint)(selector & ~7) + 8, 8) & 0xFFFF_FFFF) << 32;
        }

        uint tssLimit = (uint)((descriptor & 0xFFFF) | ((descriptor >> 32) & 0xF_0000));
        if ((descriptor & (1UL << 55)) != 0)
        {
            tssLimit = (tssLimit << 12) | 0xFFF;
        }

        TrSelector = selector;
        TrBase = tssBase;
        TrLimit = tssLimit;
    }

    /// <summary>VERR/VERW: ZF=1 when the selector names a readable (VERR) or writable (VERW) segment visible at CPL and RPL.</summary>
    private void VerifySegment(ushort selector, bool write)
    {
        bool ok = false;
        if ((selector & 0xFFFC) != 0 && (selector & 4) == 0 && (uint)(selector & ~7) + 7 <= GdtLimit)
        {
            ulong descriptor = ReadSystemLinear(GdtBase + (uint)(selector & ~7), 8);
            bool isSegment = (descriptor & (1UL << 44)) != 0;
            bool isCode = (descriptor & (1UL << 43)) != 0;
            bool readWrite = (descriptor & (1UL << 41)) != 0;
            bool conforming = isCode && (descriptor & (1UL << 42)) != 0;
            int dpl = (int)(descriptor >> 45) & 3;
            bool visible = conforming || dpl >= Math.Max(CurrentPrivilegeLevel, selector & 3);
            ok = isSegment && visible && (write ? !isCode && readWrite : !isCode || readWrite);
        }

        Flags = ok ? Flags | RFlags.ZF : Flags & ~RFlags.ZF;
    }

    /// <summary>SYSCALL (64-bit): RCX = RIP, R11 = RFLAGS, flags masked by SFMASK, CS/SS from STAR[47:32], RIP = LSTAR.</summary>
    private void ExecuteSyscall()
    {
        if ((Efer & EferSCE) == 0 || _bitness != 64)
        {
            // Compatibility-mode SYSCALL (CSTAR) is not implemented; 32-bit SYSCALL is #UD on Intel.
            throw new GuestFault(ExceptionVector.UD);
        }

        ulong star = _msrs.GetValueOrDefault(MsrStar);
        ushort selector = (ushort)((star >> 32) & 0xFFFC);
        Gpr[RCX] = Rip;
        Gpr[R11] = Flags & ~RFlags.RF;
        Flags = (Flags & ~_msrs.GetValueOrDefault(MsrFmask) & ~RFlags.RF) | RFlags.Reserved1;
        Seg[CS] = new Segment { Selector = selector, Base = 0, Limit = 0xFFFF_FFFF, Attributes = FlatKernelCode64 };
        Seg[SS] = new Segment { Selector = (ushort)(selector + 8), Base = 0, Limit = 0xFFFF_FFFF, Attributes = FlatKernelData };
        Rip = _msrs.GetValueOrDefault(MsrLstar);
        UpdateMode();
    }

    /// <summary>SYSRETQ: back to 64-bit CPL 3 with RIP = RCX, RFLAGS from R11, CS = STAR[63:48] + 16, SS = STAR[63:48] + 8.</summary>
    private void ExecuteSysret()
    {
        if ((Efer & EferSCE) == 0 || _bitness != 64)
        {
            throw new GuestFault(ExceptionVector.UD);
        }

        if (CurrentPrivilegeLevel != 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        ulong target = Gpr[RCX];
        ulong top = target >> 47;
        if (top != 0 && top != 0x1_FFFF)
        {
            // A non-canonical RCX faults in ring 0 (Intel), before anything changes.
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        ushort selector = (ushort)((_msrs.GetValueOrDefault(MsrStar) >> 48) & 0xFFFC);
        Seg[CS] = new Segment { Selector = (ushort)((selector + 16) | 3), Base = 0, Limit = 0xFFFF_FFFF, Attributes = FlatUserCode64 };
        Seg[SS] = new Segment { Selector = (ushort)((selector + 8) | 3), Base = 0, Limit = 0xFFFF_FFFF, Attributes = FlatUserData };
        Flags = (Gpr[R11] & RFlags.Writable & ~RFlags.RF) | RFlags.Reserved1;
        Rip = target;
        UpdateMode();
    }

    private ulong ReadDescriptor(ushort selector)
    {
        if ((selector & 4) != 0)
        {
            // No LDT support: the guest gets #GP as if the LDT were empty.
            throw new GuestFault(ExceptionVector.GP, (uint)(selector & 0xFFFC));
        }

        uint index = (uint)(selector & ~7);
        if (index + 7 > GdtLimit)
        {
            throw new GuestFault(ExceptionVector.GP, (uint)(selector & 0xFFFC));
        }

        return ReadSystemLinear(GdtBase + index, 8);
    }

    private ulong ReadControlRegister(Register register)
    {
        RequireCpl0();
        return ReadControlRegisterAtCpl0(register);
    }

    private ulong ReadControlRegisterAtCpl0(Register register) => register switch
    {
        Register.CR0 => Cr0,
        Register.CR2 => Cr2,
        Register.CR3 => Cr3,
        Register.CR4 => Cr4,
        Register.CR8 => 0,
        >= Register.DR0 and <= Register.DR7 => Dr[DebugRegisterIndex(register)],
        _ => throw new GuestFault(ExceptionVector.UD),
    };

    /// <summary>DR0-DR7 by number; DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD.</summary>
    private int DebugRegisterIndex(Register register)
    {
        int index = register - Register.DR0;
        if (index is 4 or 5)
        {
            if ((Cr4 & Cr4DE) != 0)
            {
                throw new GuestFault(ExceptionVector.UD);
            }

            index += 2;
        }

        return index;
    }

    private void WriteDebugRegister(Register register, ulong value)
    {
        int index = DebugRegisterIndex(register);
        switch (index)
        {
            case 6:
                Dr[6] = (value & Dr6Writable) | Dr6Fixed;
                break;
            case 7:
                if ((value & (Dr7BreakpointEnables | Dr7GeneralDetect)) != 0)
                {
                    throw new EmulationException($"Hardware breakpoints are not implemented (DR7 = 0x{value:X})");
                }

                Dr[7] = (value & 0xFFFF_FFFF) | Dr7Fixed;
                break;
            default:
                Dr[index] = value;
                break;
        }
    }

    private void WriteControlRegister(Register register, ulong value)
    {
        RequireCpl0();
        switch (register)
        {
            case Register.CR0:
                Cr0 = value | 0x10;
                if ((Cr0 & Cr0PG) != 0 && (Efer & EferLME) != 0)
                {
                    Efer |= EferLMA;
                }
                else if ((Cr0 & Cr0PG) == 0)
                {
                    Efer &= ~EferLMA;
                }

                FlushTlb();
                UpdateMode();
                break;
            case Register.CR2:
                Cr2 = value;
                break;
            case Register.CR3:
                Cr3 = value;
                FlushTlb();
                break;
            case Register.CR4:
                Cr4 = value;
                FlushTlb();
                break;
            case Register.CR8:
                break;
            case >= Register.DR0 and <= Register.DR7:
                WriteDebugRegister(register, value);
                break;
            default:
                throw new GuestFault(ExceptionVector.UD);
        }
    }

    private bool TryExecuteSystem(ref Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Lgdt:
            case Mnemonic.Lidt:
            {
                RequireCpl0();
                ulong linear = MemoryLinear(ins);
                uint limit = (uint)ReadLinear(linear, 2);
                ulong tableBase = _bitness == 64 ? ReadLinear(linear + 2, 8) : ReadLinear(linear + 2, 4);
                if (_bitness != 64 && ins.Code is Code.Lgdt_m1632_16 or Code.Lidt_m1632_16)
                {
                    tableBase &= 0xFF_FFFF;
                }

                if (ins.Mnemonic == Mnemonic.Lgdt)
                {
                    GdtBase = tableBase;
                    GdtLimit = limit;
                }
                else
                {
                    IdtBase = tableBase;
                    IdtLimit = limit;
                }

                return true;
            }

            case Mnemonic.Sgdt:
            case Mnemonic.Sidt:
            {
                ulong linear = MemoryLinear(ins);
                bool gdt = ins.Mnemonic == Mnemonic.Sgdt;
                WriteLinear(linear, 2, gdt ? GdtLimit : IdtLimit);
                WriteLinear(linear + 2, _bitness == 64 ? 8 : 4, gdt ? GdtBase : IdtBase);
                return true;
            }

            case Mnemonic.Lldt:
                RequireCpl0();
                // No LDT: the selector is accepted and not used (a load through it raises #GP).
                _ = ReadOperand(ins, 0, 2);
                return true;

            case Mnemonic.Ltr:
                RequireCpl0();
                LoadTaskRegister((ushort)ReadOperand(ins, 0, 2));
                return true;

            case Mnemonic.Str:
                WriteOp0(ins, Op0Size(ins), TrSelector);
                return true;

            case Mnemonic.Verr:
            case Mnemonic.Verw:
                VerifySegment((ushort)ReadOperand(ins, 0, 2), write: ins.Mnemonic == Mnemonic.Verw);
                return true;

            case Mnemonic.Syscall:
                ExecuteSyscall();
                return true;

            case Mnemonic.Sysretq:
                ExecuteSysret();
                return true;

            case Mnemonic.Smsw:
                WriteOp0(ins, Op0Size(ins), Cr0 & SizeMask[Op0Size(ins)]);
                return true;
            case Mnemonic.Lmsw:
            {
                ulong low = ReadOperand(ins, 0, 2) & 0xF;
                // LMSW can set PE but never clear it.
                WriteControlRegister(Register.CR0, (Cr0 & ~0xEUL) | low | (Cr0 & Cr0PE));
                return true;
            }

            case Mnemonic.Clts:
                RequireCpl0();
                Cr0 &= ~8UL;
                return true;

            case Mnemonic.Invlpg:
                RequireCpl0();
                InvalidatePage(MemoryLinear(ins));
                return true;

            case Mnemonic.Cpuid:
                ExecuteCpuid();
                return true;

            case Mnemonic.Rdtsc:
            case Mnemonic.Rdtscp:
            {
                if ((Cr4 & Cr4TSD) != 0)
                {
                    RequireCpl0();
                }

                if (ins.Mnemonic == Mnemonic.Rdtscp)
                {
                    WriteGpr(RCX, 4, _msrs.GetValueOrDefault(MsrTscAux));
                }

                ulong tsc = ReadTsc();
                WriteGpr(RAX, 4, tsc);
                WriteGpr(RDX, 4, tsc >> 32);
                return true;
            }

            case Mnemonic.Rdpmc:
                // No performance counters are advertised (no CPUID leaf 0xA), so every counter index is invalid: #GP(0),
                // which is also what CPL > 0 without CR4.PCE gets.
                throw new GuestFault(ExceptionVector.GP, 0);

            case Mnemonic.Rdmsr:
            {
                RequireCpl0();
                ulong value = ReadMsr((uint)Gpr[RCX]);
                WriteGpr(RAX, 4, value);
                WriteGpr(RDX, 4, value >> 32);
                return true;
            }

            case Mnemonic.Wrmsr:
                RequireCpl0();
                WriteMsr((uint)Gpr[RCX], ((Gpr[RDX] & 0xFFFF_FFFF) << 32) | (Gpr[RAX] & 0xFFFF_FFFF));
                return true;

            case Mnemonic.Swapgs:
                if (_bitness != 64)
                {
                    throw new GuestFault(ExceptionVector.UD);
                }

                RequireCpl0();
                (Seg[GS].Base, KernelGsBase) = (KernelGsBase, Seg[GS].Base);
                return true;

            case Mnemonic.Les:
            case Mnemonic.Lds:
            case Mnemonic.Lss:
            case Mnemonic.Lfs:
            case Mnemonic.Lgs:
            {
                int size = RegisterTable.Size[(int)ins.Op0Register];
                ulong linear = MemoryLinear(ins);
                ulong offset = ReadLinear(linear, size);
                ushort selector = (ushort)ReadLinear(linear + (ulong)size, 2);
                int segment = ins.Mnemonic switch
                {
                    Mnemonic.Les => ES,
                    Mnemonic.Lds => DS,
                    Mnemonic.Lss => SS,
                    Mnemonic.Lfs => FS,
                    _ => GS,
                };
                LoadSegment(segment, selector);
                WriteReg(ins.Op0Register, offset);
                return true;
            }

            default:
                return false;
        }
    }

    private ulong ReadMsr(uint msr) => msr switch
    {
        MsrTsc => ReadTsc(),
        MsrEfer => Efer,
        MsrFsBase => Seg[FS].Base,
        MsrGsBase => Seg[GS].Base,
        MsrKernelGsBase => KernelGsBase,
        MsrApicBase or MsrPat or MsrStar or MsrLstar or MsrCstar or MsrFmask or MsrTscAux => _msrs.GetValueOrDefault(msr),
        MsrTscDeadline => _apic.ReadTscDeadline(),
        MsrKvmSystemTime => _kvmSystemTime,
        MsrKvmWallClock => _kvmWallClock,
        _ => throw new GuestFault(ExceptionVector.GP, 0),
    };

    private void WriteMsr(uint msr, ulong value)
    {
        switch (msr)
        {
            case MsrTsc:
                WriteTsc(value);
                RefreshKvmClock();
                break;
            case MsrTscDeadline:
                _apic.WriteTscDeadline(value, (ulong)_tscOffset);
                _budget = 0; // look at the timer now (a past deadline fires at once)
                break;
            case MsrKvmSystemTime:
                WriteKvmSystemTime(value);
                break;
            case MsrKvmWallClock:
                WriteKvmWallClock(value);
                break;
            case MsrEfer:
                if (((Efer ^ value) & EferNXE) != 0)
                {
                    // Cached translations carry XD and reserved-bit results that depend on NXE.
                    FlushTlb();
                }

                Efer = (value & EferWritable) | (Efer & EferLMA);
                UpdateMode();
                break;
            case MsrFsBase:
                Seg[FS].Base = value;
                break;
            case MsrGsBase:
                Seg[GS].Base = value;
                break;
            case MsrKernelGsBase:
                KernelGsBase = value;
                break;
            case MsrTscAux when value > uint.MaxValue:
                throw new GuestFault(ExceptionVector.GP, 0);
            case MsrApicBase or MsrPat or MsrStar or MsrLstar or MsrCstar or MsrFmask or MsrTscAux:
                _msrs[msr] = value;
                break;
            default:
                throw new GuestFault(ExceptionVector.GP, 0);
        }
    }
}
