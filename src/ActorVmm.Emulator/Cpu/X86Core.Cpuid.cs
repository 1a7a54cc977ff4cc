namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// CPUID: a minimal, coherent feature set that advertises only what the core implements (docs/emulator.md).
/// Leaves above the maximum basic or extended leaf read as zero (AMD's behaviour): Linux probes hypervisor
/// and topology leaves unconditionally, and zero says "not there".
/// </summary>
internal sealed partial class X86Core
{
    /// <summary>Highest basic leaf (leaf 0 EAX).</summary>
    internal const uint CpuidMaxBasicLeaf = 1;

    /// <summary>Highest extended leaf (leaf 0x80000000 EAX).</summary>
    internal const uint CpuidMaxExtendedLeaf = 0x8000_0001;

    /// <summary>Leaf 1 EAX: family 6, model 0, stepping 0.</summary>
    internal const uint CpuidSignature = 0x0000_0600;

    /// <summary>Leaf 1 EDX bit 0: x87 FPU on chip (80-bit arithmetic; the transcendentals are not implemented).</summary>
    internal const uint CpuidFpu = 1u << 0;

    /// <summary>Leaf 1 EDX bit 3: 4 MiB pages with CR4.PSE.</summary>
    internal const uint CpuidPse = 1u << 3;

    /// <summary>Leaf 1 EDX bit 4: RDTSC.</summary>
    internal const uint CpuidTsc = 1u << 4;

    /// <summary>Leaf 1 EDX bit 5: RDMSR/WRMSR.</summary>
    internal const uint CpuidMsr = 1u << 5;

    /// <summary>Leaf 1 EDX bit 6: PAE paging.</summary>
    internal const uint CpuidPae = 1u << 6;

    /// <summary>Leaf 1 EDX bit 8: CMPXCHG8B.</summary>
    internal const uint CpuidCx8 = 1u << 8;

    /// <summary>Leaf 1 EDX bit 9: on-chip local APIC.</summary>
    internal const uint CpuidApic = 1u << 9;

    /// <summary>Leaf 1 EDX bit 13: global pages (CR4.PGE; the TLB is flushed whole, which global pages allow).</summary>
    internal const uint CpuidPge = 1u << 13;

    /// <summary>Leaf 1 EDX bit 15: CMOVcc.</summary>
    internal const uint CpuidCmov = 1u << 15;

    /// <summary>Leaf 1 EDX bit 16: the PAT MSR (stored; memory types have no effect here).</summary>
    internal const uint CpuidPat = 1u << 16;

    /// <summary>Leaf 1 EDX bit 24: FXSAVE/FXRSTOR and CR4.OSFXSR.</summary>
    internal const uint CpuidFxsr = 1u << 24;

    /// <summary>Leaf 1 EDX bit 25: SSE.</summary>
    internal const uint CpuidSse = 1u << 25;

    /// <summary>Leaf 1 EDX bit 26: SSE2.</summary>
    internal const uint CpuidSse2 = 1u << 26;

    /// <summary>Leaf 0x80000001 EDX bit 11: SYSCALL/SYSRET in 64-bit mode.</summary>
    internal const uint CpuidSyscall = 1u << 11;

    /// <summary>Leaf 0x80000001 EDX bit 20: NX (EFER.NXE, the XD page bit).</summary>
    internal const uint CpuidNx = 1u << 20;

    /// <summary>Leaf 0x80000001 EDX bit 27: RDTSCP and IA32_TSC_AUX.</summary>
    internal const uint CpuidRdtscp = 1u << 27;

    /// <summary>Leaf 1 ECX bit 13: CMPXCHG16B.</summary>
    internal const uint CpuidCx16 = 1u << 13;

    /// <summary>Leaf 0x80000001 EDX bit 29: long mode.</summary>
    internal const uint CpuidLongMode = 1u << 29;

    /// <summary>Leaf 1 EDX: everything above.</summary>
    internal const uint CpuidLeaf1Edx = CpuidFpu | CpuidPse | CpuidTsc | CpuidMsr | CpuidPae | CpuidCx8 | CpuidApic
        | CpuidPge | CpuidCmov | CpuidPat | CpuidFxsr | CpuidSse | CpuidSse2;

    /// <summary>Leaf 1 ECX bit 31: running under a hypervisor (whose leaves at 0x40000000 offer kvm-clock, X86Core.KvmClock.cs).</summary>
    internal const uint CpuidHypervisor = 1u << 31;

    /// <summary>Leaf 1 ECX bit 24: the local APIC timer's TSC-deadline mode (IA32_TSC_DEADLINE).</summary>
    internal const uint CpuidTscDeadline = 1u << 24;

    /// <summary>Leaf 1 ECX: CMPXCHG16B, TSC-deadline and the hypervisor bit (no SSE3 and later, XSAVE, x2APIC, MONITOR or PCID).</summary>
    internal const uint CpuidLeaf1Ecx = CpuidCx16 | CpuidTscDeadline | CpuidHypervisor;

    /// <summary>Leaf 0x80000001 EDX (no SMEP/SMAP/PKU/UMIP either: leaf 7 is not offered).</summary>
    internal const uint CpuidExtendedEdx = CpuidSyscall | CpuidNx | CpuidRdtscp | CpuidLongMode;

    // Vendor "ActorVmm-EMU" as leaf 0 returns it: EBX, EDX, ECX.
    private const uint VendorEbx = 0x6F74_6341;
    private const uint VendorEdx = 0x6D6D_5672;
    private const uint VendorEcx = 0x554D_452D;

    private void ExecuteCpuid()
    {
        uint leaf = (uint)Gpr[RAX];
        (uint a, uint b, uint c, uint d) = leaf switch
        {
            0 => (CpuidMaxBasicLeaf, VendorEbx, VendorEcx, VendorEdx),
            // EBX[31:24]: initial APIC ID.
            1 => (CpuidSignature, (uint)Id << 24, CpuidLeaf1Ecx, CpuidLeaf1Edx),
            CpuidHypervisorBase => (CpuidKvmFeatures, KvmSignatureEbx, KvmSignatureEcx, KvmSignatureEdx),
            CpuidKvmFeatures => (KvmFeatureClockSource2 | KvmFeatureClockSourceStable, 0u, 0u, 0u),
            0x8000_0000 => (CpuidMaxExtendedLeaf, 0u, 0u, 0u),
            0x8000_0001 => (0u, 0u, 0u, CpuidExtendedEdx),
            _ => (0u, 0u, 0u, 0u),
        };
        WriteGpr(RAX, 4, a);
        WriteGpr(RBX, 4, b);
        WriteGpr(RCX, 4, c);
        WriteGpr(RDX, 4, d);
    }
}
