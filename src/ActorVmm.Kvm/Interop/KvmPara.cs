using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Interop;

/// <summary>The KVM paravirtual CPUID leaves and feature bits of <c>asm/kvm_para.h</c>, with their C names.</summary>
[CConstants]
internal static class KvmPara
{
    /// <summary>Hypervisor leaf: EAX = highest KVM leaf, EBX/ECX/EDX = "KVMKVMKVM\0\0\0".</summary>
    public const uint KVM_CPUID_SIGNATURE = 0x4000_0000;

    /// <summary>KVM features leaf: EAX = KVM_FEATURE_* bits, EDX = KVM_HINTS_* bits.</summary>
    public const uint KVM_CPUID_FEATURES = 0x4000_0001;

    // Bit numbers in KVM_CPUID_FEATURES.EAX.
    public const int KVM_FEATURE_CLOCKSOURCE = 0;
    public const int KVM_FEATURE_NOP_IO_DELAY = 1;
    public const int KVM_FEATURE_MMU_OP = 2;
    public const int KVM_FEATURE_CLOCKSOURCE2 = 3;
    public const int KVM_FEATURE_ASYNC_PF = 4;
    public const int KVM_FEATURE_STEAL_TIME = 5;
    public const int KVM_FEATURE_PV_EOI = 6;
    public const int KVM_FEATURE_PV_UNHALT = 7;
    public const int KVM_FEATURE_PV_TLB_FLUSH = 9;
    public const int KVM_FEATURE_ASYNC_PF_VMEXIT = 10;
    public const int KVM_FEATURE_PV_SEND_IPI = 11;
    public const int KVM_FEATURE_POLL_CONTROL = 12;
    public const int KVM_FEATURE_PV_SCHED_YIELD = 13;
    public const int KVM_FEATURE_ASYNC_PF_INT = 14;
    public const int KVM_FEATURE_MSI_EXT_DEST_ID = 15;
    public const int KVM_FEATURE_HC_MAP_GPA_RANGE = 16;
    public const int KVM_FEATURE_MIGRATION_CONTROL = 17;
    public const int KVM_FEATURE_CLOCKSOURCE_STABLE_BIT = 24;

    // Bit numbers in KVM_CPUID_FEATURES.EDX.
    public const int KVM_HINTS_REALTIME = 0;
}
