using ActorVmm.Kvm.Interop;
using static ActorVmm.Kvm.Interop.KvmConstants;
using static ActorVmm.Kvm.Interop.KvmPara;

namespace ActorVmm.Kvm;

/// <summary>
/// The CPUID a vCPU gets: KVM_GET_SUPPORTED_CPUID (what KVM can virtualize on this host) filtered to what this VMM
/// backs and completed with what only the VMM knows (docs/linux-boot.md, "CPUID policy"):
/// <list type="bullet">
/// <item>leaf 1: initial APIC ID = vCPU id, logical-processor count and HTT for the VM's vCPUs, the hypervisor bit, and
/// TSC-deadline when the in-kernel local APIC offers that timer (KVM_CAP_TSC_DEADLINE_TIMER);</item>
/// <item>topology: one socket of <c>N</c> single-threaded cores. Leaf 4's core and cache-sharing counts, leaves 0xB/0x1F
/// (x2APIC ID per vCPU), and on AMD 0x8000_0008 ECX; AMD's extended topology (TOPOEXT, 0x8000_001E, 0x8000_0026) is
/// withdrawn rather than made up;</item>
/// <item>the KVM leaves: the "KVMKVMKVM" signature, and of KVM's paravirtual features only those served inside KVM
/// (kvmclock, async page faults, steal time, PV EOI/unhalt/TLB flush/IPIs, poll control, sched yield); not
/// MSI_EXT_DEST_ID (the VMM's MSI routing would have to decode it), HC_MAP_GPA_RANGE and MIGRATION_CONTROL
/// (hypercall exits to userspace the VMM does not take), nor the REALTIME hint (vCPUs are not pinned);</item>
/// <item>SGX withdrawn: it needs an EPC section the VMM would have to provide.</item>
/// </list>
/// </summary>
internal static class KvmCpuid
{
    // Leaves.
    public const uint LeafVendor = 0x0;
    public const uint LeafFeatures = 0x1;
    public const uint LeafCacheParameters = 0x4;
    public const uint LeafStructuredFeatures = 0x7;
    public const uint LeafExtendedTopology = 0xB;
    public const uint LeafSgx = 0x12;
    public const uint LeafExtendedTopologyV2 = 0x1F;
    public const uint LeafExtendedFeatures = 0x8000_0001;
    public const uint LeafAmdSizes = 0x8000_0008;
    public const uint LeafAmdExtendedApicId = 0x8000_001E;
    public const uint LeafAmdExtendedTopology = 0x8000_0026;

    // Leaf 1.
    public const int ApicIdShift = 24; // EBX[31:24] initial APIC ID
    public const uint ApicIdMask = 0xFF00_0000;
    public const int LogicalCountShift = 16; // EBX[23:16] addressable logical processors per package
    public const uint LogicalCountMask = 0x00FF_0000;
    public const uint EcxTscDeadline = 1u << 24; // ECX[24] TSC-deadline timer in the local APIC
    public const uint EcxHypervisor = 1u << 31; // ECX[31] running under a hypervisor
    public const uint EdxMtrr = 1u << 12; // EDX[12] MTRRs
    public const uint EdxHtt = 1u << 28; // EDX[28] EBX[23:16] is valid (more than one logical processor)

    // Leaf 4 (Intel deterministic cache parameters).
    public const uint CacheTypeMask = 0x1F; // EAX[4:0], 0 = no more caches
    public const int CacheLevelShift = 5; // EAX[7:5]
    public const uint CacheLevelMask = 0x7;
    public const int CoresPerPackageShift = 26; // EAX[31:26] addressable core IDs - 1
    public const int ThreadsSharingShift = 14; // EAX[25:14] addressable logical processors sharing this cache - 1
    public const uint CacheTopologyMask = 0xFFFF_C000; // EAX[31:14]
    public const uint SharedCacheLevel = 3;

    // Leaves 0xB / 0x1F.
    public const uint LevelTypeSmt = 1; // ECX[15:8]
    public const uint LevelTypeCore = 2;
    public const int LevelTypeShift = 8;

    // Leaf 7 subleaf 0.
    public const uint EbxSgx = 1u << 2;
    public const uint EcxSgxLaunchControl = 1u << 30;

    // Leaf 0x8000_0001 ECX (AMD).
    public const uint EcxTopologyExtensions = 1u << 22;

    // Leaf 0x8000_0008 ECX (AMD): NC in [7:0], ApicIdCoreIdSize in [15:12].
    public const int AmdApicIdSizeShift = 12;

    /// <summary>"AuthenticAMD" / "HygonGenuine" leaf-0 EBX (the first four vendor characters).</summary>
    public const uint VendorAuthEbx = 0x6874_7541;
    public const uint VendorHygoEbx = 0x6F67_7948;

    /// <summary>"KVMKVMKVM\0\0\0" in EBX, ECX, EDX of the signature leaf.</summary>
    public const uint SignatureEbx = 0x4B4D_564B;
    public const uint SignatureEcx = 0x564B_4D56;
    public const uint SignatureEdx = 0x0000_004D;

    /// <summary>The paravirtual features this VMM lets through (each served by KVM itself).</summary>
    public const uint BackedKvmFeatures =
        (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) | (1u << KVM_FEATURE_CLOCKSOURCE2)
        | (1u << KVM_FEATURE_ASYNC_PF) | (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI)
        | (1u << KVM_FEATURE_PV_UNHALT) | (1u << KVM_FEATURE_PV_TLB_FLUSH) | (1u << KVM_FEATURE_ASYNC_PF_VMEXIT)
        | (1u << KVM_FEATURE_PV_SEND_IPI) | (1u << KVM_FEATURE_POLL_CONTROL) | (1u << KVM_FEATURE_PV_SCHED_YIELD)
        | (1u << KVM_FEATURE_ASYNC_PF_INT) | (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);

    /// <summary>The CPUID table of vCPU <paramref name="vcpuId"/> of <paramref name="vcpuCount"/>.</summary>
    /// <param name="vcpuId">The vCPU, also its APIC ID.</param>
    /// <param name="vcpuCount">vCPUs in the VM.</param>
    /// <param name="supported">KVM_GET_SUPPORTED_CPUID.</param>
    /// <param name="tscDeadlineTimer">KVM_CAP_TSC_DEADLINE_TIMER.</param>
    public static kvm_cpuid_entry2[] ForVcpu(int vcpuId, int vcpuCount, IReadOnlyList<kvm_cpuid_entry2> supported, bool tscDeadlineTimer)
    {
        ArgumentNullException.ThrowIfNull(supported);
        ArgumentOutOfRangeException.ThrowIfNegative(vcpuId);
        ArgumentOutOfRangeException.ThrowIfLessThan(vcpuCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(vcpuId, vcpuCount);
        uint apicId = (uint)vcpuId;
        uint count = (uint)vcpuCount;
        int coreBits = CoreIdBits(vcpuCount);
        uint addressableCores = 1u << coreBits;
        bool amd = supported.FirstOrDefault(e => e.function == LeafVendor).ebx is VendorAuthEbx or VendorHygoEbx;
        uint maxBasic = supported.FirstOrDefault(e => e.function == LeafVendor).eax;

        var entries = new List<kvm_cpuid_entry2>();
        foreach (var original in supported)
        {
            var e = original;
            switch (e.function)
            {
                case LeafFeatures:
                    e.ebx = (e.ebx & ~(ApicIdMask | LogicalCountMask)) | (apicId << ApicIdShift) | (Math.Min(addressableCores, 0xFFu) << LogicalCountShift);
                    e.ecx |= EcxHypervisor | (tscDeadlineTimer ? EcxTscDeadline : 0);
                    e.edx = count > 1 ? e.edx | EdxHtt : e.edx & ~EdxHtt;
                    break;
                case LeafCacheParameters when (e.eax & CacheTypeMask) != 0:
                    uint level = (e.eax >> CacheLevelShift) & CacheLevelMask;
                    uint sharing = level >= SharedCacheLevel ? addressableCores - 1 : 0;
                    e.eax = (e.eax & ~CacheTopologyMask) | ((addressableCores - 1) << CoresPerPackageShift) | (sharing << ThreadsSharingShift);
                    break;
                case LeafStructuredFeatures when e.index == 0:
                    e.ebx &= ~EbxSgx;
                    e.ecx &= ~EcxSgxLaunchControl;
                    break;
                case LeafExtendedTopology or LeafExtendedTopologyV2 or LeafSgx or LeafAmdExtendedApicId or LeafAmdExtendedTopology:
                    continue; // regenerated below, or withdrawn
                case LeafExtendedFeatures:
                    e.ecx &= ~EcxTopologyExtensions;
                    break;
                case LeafAmdSizes when amd:
                    e.ecx = ((uint)coreBits << AmdApicIdSizeShift) | (count - 1);
                    break;
                case KVM_CPUID_SIGNATURE:
                    e.eax = KVM_CPUID_FEATURES;
                    e.ebx = SignatureEbx;
                    e.ecx = SignatureEcx;
                    e.edx = SignatureEdx;
                    break;
                case KVM_CPUID_FEATURES:
                    e.eax &= BackedKvmFeatures;
                    e.ebx = 0;
                    e.ecx = 0;
                    e.edx = 0;
                    break;
            }

            entries.Add(e);
        }

        if (!entries.Any(e => e.function == KVM_CPUID_SIGNATURE))
        {
            entries.Add(new kvm_cpuid_entry2 { function = KVM_CPUID_SIGNATURE, eax = KVM_CPUID_FEATURES, ebx = SignatureEbx, ecx = SignatureEcx, edx = SignatureEdx });
            entries.Add(new kvm_cpuid_entry2 { function = KVM_CPUID_FEATURES });
        }

        foreach (uint leaf in new[] { LeafExtendedTopology, LeafExtendedTopologyV2 })
        {
            // 0x1F only where the host's table had it (Linux prefers it when present).
            if (maxBasic >= leaf && (leaf == LeafExtendedTopology || supported.Any(s => s.function == leaf)))
            {
                entries.AddRange(Topology(leaf, apicId, count, coreBits));
            }
        }

        return [.. entries];
    }

    /// <summary>Bits of the APIC ID that number cores: ceil(log2(vCPUs)).</summary>
    public static int CoreIdBits(int vcpuCount) => vcpuCount <= 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)vcpuCount - 1);

    private static IEnumerable<kvm_cpuid_entry2> Topology(uint leaf, uint apicId, uint count, int coreBits)
    {
        // Subleaf 0: SMT, one thread per core (shift 0). Subleaf 1: cores of the package. Subleaf 2: end (type 0).
        yield return new kvm_cpuid_entry2 { function = leaf, index = 0, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, eax = 0, ebx = 1, ecx = LevelTypeSmt << LevelTypeShift, edx = apicId };
        yield return new kvm_cpuid_entry2 { function = leaf, index = 1, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, eax = (uint)coreBits, ebx = count, ecx = 1 | (LevelTypeCore << LevelTypeShift), edx = apicId };
        yield return new kvm_cpuid_entry2 { function = leaf, index = 2, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, eax = 0, ebx = 0, ecx = 2, edx = apicId };
    }
}
