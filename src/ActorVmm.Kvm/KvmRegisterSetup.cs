using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Kvm;

/// <summary>Turns entry states into kvm_regs/kvm_sregs and sets up a vCPU's CPUID, FPU and local APIC.</summary>
internal static class KvmRegisterSetup
{
    // Architectural bits.
    public const ulong RflagsReserved = 0x2; // bit 1 of RFLAGS always reads 1
    public const ulong RflagsInterruptEnable = 0x200; // RFLAGS.IF
    public const ulong Cr0ProtectionEnable = 0x1; // CR0.PE
    public const ulong Cr0Paging = 0x8000_0000; // CR0.PG
    public const ulong Cr4PhysicalAddressExtension = 0x20; // CR4.PAE
    public const ulong EferLongModeEnable = 0x100; // EFER.LME
    public const ulong EferLongModeActive = 0x400; // EFER.LMA
    public const byte SegmentTypeCodeExecuteReadAccessed = 0xB;
    public const byte SegmentTypeDataReadWriteAccessed = 0x3;
    public const byte SegmentTypeBusyTss = 0xB;
    public const uint RealModeSegmentLimit = 0xFFFF;
    public const uint FlatSegmentLimit = 0xFFFF_FFFF;

    // FPU reset values (kvmtool): x87 control word with all exceptions masked, MXCSR likewise.
    public const ushort FpuControlWordDefault = 0x37F;
    public const uint MxcsrDefault = 0x1F80;

    // Local APIC (Intel SDM vol. 3, 10.5.1): LVT LINT0/LINT1 register offsets and delivery mode field (one table: LocalApicRegisters).
    public const int ApicLvtLint0Offset = LocalApicRegisters.LvtLint0;
    public const int ApicLvtLint1Offset = LocalApicRegisters.LvtLint1;
    public const uint ApicDeliveryModeMask = LocalApicRegisters.LvtDeliveryModeMask;
    public const uint ApicDeliveryModeExtInt = LocalApicRegisters.DeliveryModeExtInt;
    public const uint ApicDeliveryModeNmi = LocalApicRegisters.DeliveryModeNmi;

    // MSRs a vCPU gets at creation (Intel SDM vol. 4; KVM emulates all three on Intel and AMD hosts).
    public const uint MsrIa32Tsc = 0x10; // IA32_TIME_STAMP_COUNTER: 0 on every vCPU, so KVM matches their offsets
    public const uint MsrIa32MiscEnable = 0x1A0; // IA32_MISC_ENABLE
    public const ulong MiscEnableFastString = 0x1; // bit 0: fast string operations, as firmware leaves it
    public const uint MsrMtrrDefType = 0x2FF; // IA32_MTRR_DEF_TYPE
    public const ulong MtrrDefTypeEnableWriteBack = 0x806; // E (bit 11) set, default type 6 = write-back, as firmware leaves it

    /// <summary>Applies a real-mode flat-binary entry on top of the vCPU's reset sregs.</summary>
    public static void ApplyRealMode(RealModeEntry entry, ref kvm_sregs sregs, out kvm_regs regs)
    {
        sregs.cs = RealModeSegment(entry.CodeSegment, SegmentTypeCodeExecuteReadAccessed);
        var data = RealModeSegment(entry.DataSegment, SegmentTypeDataReadWriteAccessed);
        sregs.ds = data;
        sregs.es = data;
        sregs.fs = data;
        sregs.gs = data;
        sregs.ss = data;
        sregs.cr0 &= ~(Cr0ProtectionEnable | Cr0Paging);
        regs = new kvm_regs { rip = entry.InstructionPointer, rsp = entry.StackPointer, rflags = RflagsReserved };
    }

    /// <summary>Applies a 64-bit entry (tables must be in guest RAM; see <see cref="LongModeEntry.WriteTables"/>).</summary>
    public static void ApplyLongMode(LongModeEntry entry, ref kvm_sregs sregs, out kvm_regs regs)
    {
        sregs.cs = FlatSegment(LongModeEntry.CodeSelector, SegmentTypeCodeExecuteReadAccessed, longMode: true);
        var data = FlatSegment(LongModeEntry.DataSelector, SegmentTypeDataReadWriteAccessed, longMode: false);
        sregs.ds = data;
        sregs.es = data;
        sregs.fs = data;
        sregs.gs = data;
        sregs.ss = data;
        sregs.tr = FlatSegment(LongModeEntry.TssSelector, SegmentTypeBusyTss, longMode: false);
        sregs.tr.s = 0;
        sregs.gdt = new kvm_dtable { @base = LongModeEntry.GdtAddress, limit = (ushort)((LongModeEntry.GdtEntries.Count * sizeof(ulong)) - 1) };
        sregs.idt = new kvm_dtable { @base = LongModeEntry.IdtAddress, limit = sizeof(ulong) - 1 };
        sregs.cr3 = LongModeEntry.Pml4Address;
        sregs.cr4 |= Cr4PhysicalAddressExtension;
        sregs.cr0 |= Cr0ProtectionEnable | Cr0Paging;
        sregs.efer |= EferLongModeEnable | EferLongModeActive;
        regs = new kvm_regs
        {
            rip = entry.InstructionPointer,
            rsp = entry.StackPointer,
            rbp = entry.StackPointer,
            rsi = entry.BootParams,
            rflags = RflagsReserved,
        };
    }

    /// <summary>Applies any supported entry state through the seam, writing long-mode tables to RAM first.</summary>
    public static void Apply(IKvmVcpuKernel kernel, GuestMemory memory, VcpuEntryState entry)
    {
        var sregs = kernel.GetSregs();
        kvm_regs regs;
        switch (entry)
        {
            case RealModeEntry real:
                ApplyRealMode(real, ref sregs, out regs);
                break;
            case LongModeEntry longMode:
                LongModeEntry.WriteTables(memory);
                ApplyLongMode(longMode, ref sregs, out regs);
                break;
            default:
                throw new NotSupportedException($"The KVM backend cannot start a vCPU from {entry?.GetType().Name ?? "null"}");
        }

        kernel.SetSregs(sregs);
        kernel.SetRegs(regs);
        kernel.SetFpu(new kvm_fpu { fcw = FpuControlWordDefault, mxcsr = MxcsrDefault });
    }

    /// <summary>
    /// The MSRs every vCPU gets at creation (KVM_SET_MSRS), APs included: what firmware would leave for a kernel —
    /// TSC 0, fast strings on, and MTRRs enabled with write-back as the default type when the CPUID offers MTRRs
    /// (without them Linux turns PAT off). All must be accepted.
    /// </summary>
    public static void SetBootMsrs(IKvmVcpuKernel kernel, bool mtrr)
    {
        kvm_msr_entry[] msrs = mtrr
            ? [new() { index = MsrIa32Tsc }, new() { index = MsrIa32MiscEnable, data = MiscEnableFastString }, new() { index = MsrMtrrDefType, data = MtrrDefTypeEnableWriteBack }]
            : [new() { index = MsrIa32Tsc }, new() { index = MsrIa32MiscEnable, data = MiscEnableFastString }];
        int set = kernel.SetMsrs(msrs);
        if (set != msrs.Length)
        {
            throw new InvalidOperationException($"KVM_SET_MSRS accepted {set} of {msrs.Length} boot MSRs (IA32_TSC, IA32_MISC_ENABLE, IA32_MTRR_DEF_TYPE); MSR 0x{msrs[Math.Clamp(set, 0, msrs.Length - 1)].index:X} was refused");
        }
    }

    /// <summary>
    /// LINT0 → ExtINT and LINT1 → NMI, as kvmtool and Firecracker do, so the in-kernel 8259's
    /// INTR reaches the boot vCPU through its local APIC without firmware programming it.
    /// </summary>
    public static unsafe void RouteLegacyInterrupts(ref kvm_lapic_state lapic)
    {
        // Safe: both offsets + 4 lie inside the KVM_APIC_REG_SIZE-byte register page.
        fixed (byte* regs = lapic.regs)
        {
            var page = new Span<byte>(regs, KvmConstants.KVM_APIC_REG_SIZE);
            SetDeliveryMode(page, ApicLvtLint0Offset, ApicDeliveryModeExtInt);
            SetDeliveryMode(page, ApicLvtLint1Offset, ApicDeliveryModeNmi);
        }
    }

    private static void SetDeliveryMode(Span<byte> page, int offset, uint mode)
    {
        uint value = BitConverter.ToUInt32(page[offset..]);
        value = (value & ~ApicDeliveryModeMask) | mode;
        BitConverter.TryWriteBytes(page[offset..], value);
    }

    private static kvm_segment RealModeSegment(ushort selector, byte type) => new()
    {
        @base = (ulong)selector << 4,
        limit = RealModeSegmentLimit,
        selector = selector,
        type = type,
        present = 1,
        s = 1,
    };

    private static kvm_segment FlatSegment(ushort selector, byte type, bool longMode) => new()
    {
        @base = 0,
        limit = FlatSegmentLimit,
        selector = selector,
        type = type,
        present = 1,
        s = 1,
        l = longMode ? (byte)1 : (byte)0,
        db = longMode ? (byte)0 : (byte)1,
        g = 1,
    };
}
