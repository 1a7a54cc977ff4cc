using ActorVmm.Kvm.Interop;
using static ActorVmm.Kvm.KvmCpuid;
using static ActorVmm.Kvm.Interop.KvmConstants;
using static ActorVmm.Kvm.Interop.KvmPara;

namespace ActorVmm.Kvm.Tests.Kvm;

public sealed class KvmCpuidTests
{
    private const uint MaxBasicLeaf = 0x1F;
    private const uint HostApicIdAndCount = 0x0702_0000; // host APIC ID 7, 2 logical processors
    private const uint ClflushSize = 0x0800; // EBX[15:8] = 8 (64-byte lines), kept as the host reports it
    private const uint HostKvmFeatures = (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_MSI_EXT_DEST_ID) | (1u << KVM_FEATURE_MIGRATION_CONTROL) | (1u << KVM_FEATURE_PV_UNHALT);
    private const uint L1DataCache = 0x0400_0121; // type 1, level 1, 2 cores per package
    private const uint L3Cache = 0x0400_4163; // type 3, level 3, shared by 2
    private const uint IntelVendorEbx = 0x756E_6547; // "Genu"

    private static readonly kvm_cpuid_entry2[] IntelHost =
    [
        new() { function = LeafVendor, eax = MaxBasicLeaf, ebx = IntelVendorEbx },
        new() { function = LeafFeatures, ebx = HostApicIdAndCount | ClflushSize, edx = EdxMtrr },
        new() { function = LeafCacheParameters, index = 0, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, eax = L1DataCache },
        new() { function = LeafCacheParameters, index = 1, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, eax = L3Cache },
        new() { function = LeafCacheParameters, index = 2, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
        new() { function = LeafStructuredFeatures, index = 0, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, ebx = EbxSgx, ecx = EcxSgxLaunchControl },
        new() { function = LeafExtendedTopology, index = 0, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, edx = 7 },
        new() { function = LeafSgx, index = 0, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, eax = 1 },
        new() { function = LeafExtendedTopologyV2, index = 0, flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, edx = 7 },
        new() { function = KVM_CPUID_SIGNATURE, eax = KVM_CPUID_FEATURES },
        new() { function = KVM_CPUID_FEATURES, eax = HostKvmFeatures, edx = 1u << KVM_HINTS_REALTIME },
    ];

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(4, 5)]
    public void Leaf_1_names_the_vcpu_by_APIC_ID_and_counts_the_vms_processors(int vcpu, int count)
    {
        var leaf1 = Leaf(KvmCpuid.ForVcpu(vcpu, count, IntelHost, tscDeadlineTimer: true), LeafFeatures);

        Assert.Equal((uint)vcpu, leaf1.ebx >> ApicIdShift);
        Assert.Equal(1u << CoreIdBits(count), (leaf1.ebx & LogicalCountMask) >> LogicalCountShift);
        Assert.Equal(ClflushSize, leaf1.ebx & ClflushSize);
        Assert.Equal(count > 1, (leaf1.edx & EdxHtt) != 0);
        Assert.Equal(EcxHypervisor | EcxTscDeadline, leaf1.ecx);
    }

    [Fact]
    public void Tsc_deadline_is_offered_only_when_the_in_kernel_APIC_has_it()
    {
        var leaf1 = Leaf(KvmCpuid.ForVcpu(0, 1, IntelHost, tscDeadlineTimer: false), LeafFeatures);
        Assert.Equal(0u, leaf1.ecx & EcxTscDeadline);
    }

    [Fact]
    public void Extended_topology_leaves_describe_single_threaded_cores_with_the_vcpu_x2APIC_ID()
    {
        const int Vcpu = 2;
        const int Count = 3;
        var table = KvmCpuid.ForVcpu(Vcpu, Count, IntelHost, tscDeadlineTimer: true);

        foreach (uint leaf in new[] { LeafExtendedTopology, LeafExtendedTopologyV2 })
        {
            var levels = table.Where(e => e.function == leaf).OrderBy(e => e.index).ToArray();
            Assert.Equal(3, levels.Length);
            Assert.All(levels, l => Assert.Equal((uint)Vcpu, l.edx));
            Assert.All(levels, l => Assert.Equal(KVM_CPUID_FLAG_SIGNIFCANT_INDEX, l.flags));
            Assert.Equal((0u, 1u, LevelTypeSmt), (levels[0].eax, levels[0].ebx, levels[0].ecx >> LevelTypeShift));
            Assert.Equal(((uint)CoreIdBits(Count), (uint)Count, LevelTypeCore), (levels[1].eax, levels[1].ebx, levels[1].ecx >> LevelTypeShift));
            Assert.Equal(0u, levels[2].ecx >> LevelTypeShift);
        }
    }

    [Fact]
    public void Cache_leaves_count_the_vms_cores_and_only_the_last_level_is_shared()
    {
        const int Count = 4;
        var caches = KvmCpuid.ForVcpu(0, Count, IntelHost, tscDeadlineTimer: true).Where(e => e.function == LeafCacheParameters).OrderBy(e => e.index).ToArray();

        Assert.Equal((uint)Count - 1, caches[0].eax >> CoresPerPackageShift);
        Assert.Equal(0u, (caches[0].eax >> ThreadsSharingShift) & 0xFFF);
        Assert.Equal((uint)Count - 1, (caches[1].eax >> ThreadsSharingShift) & 0xFFF);
        Assert.Equal(L1DataCache & ~CacheTopologyMask, caches[0].eax & ~CacheTopologyMask);
        Assert.Equal(0u, caches[2].eax);
    }

    [Fact]
    public void KVM_leaves_carry_the_signature_and_only_the_paravirtual_features_KVM_serves_itself()
    {
        var table = KvmCpuid.ForVcpu(0, 1, IntelHost, tscDeadlineTimer: true);
        var signature = Leaf(table, KVM_CPUID_SIGNATURE);
        var features = Leaf(table, KVM_CPUID_FEATURES);

        Assert.Equal("KVMKVMKVM\0\0\0", string.Concat(new[] { signature.ebx, signature.ecx, signature.edx }.SelectMany(BitConverter.GetBytes).Select(b => (char)b)));
        Assert.Equal(KVM_CPUID_FEATURES, signature.eax);
        Assert.Equal((1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_PV_UNHALT), features.eax);
        Assert.Equal(0u, features.edx);
    }

    [Fact]
    public void SGX_is_withdrawn_and_the_host_topology_leaves_are_replaced()
    {
        var table = KvmCpuid.ForVcpu(0, 1, IntelHost, tscDeadlineTimer: true);

        var leaf7 = Leaf(table, LeafStructuredFeatures);
        Assert.Equal(0u, leaf7.ebx & EbxSgx);
        Assert.Equal(0u, leaf7.ecx & EcxSgxLaunchControl);
        Assert.DoesNotContain(table, e => e.function == LeafSgx);
        Assert.DoesNotContain(table, e => e.function == LeafExtendedTopology && e.edx == 7);
    }

    [Fact]
    public void On_AMD_the_core_count_is_in_leaf_0x80000008_and_TOPOEXT_is_withdrawn()
    {
        const int Count = 6;
        kvm_cpuid_entry2[] amd =
        [
            new() { function = LeafVendor, eax = 0x10, ebx = VendorAuthEbx },
            new() { function = LeafExtendedFeatures, ecx = EcxTopologyExtensions },
            new() { function = LeafAmdSizes, ecx = 0xFF },
            new() { function = LeafAmdExtendedApicId, eax = 9 },
        ];

        var table = KvmCpuid.ForVcpu(1, Count, amd, tscDeadlineTimer: false);

        Assert.Equal(((uint)CoreIdBits(Count) << AmdApicIdSizeShift) | (Count - 1), Leaf(table, LeafAmdSizes).ecx);
        Assert.Equal(0u, Leaf(table, LeafExtendedFeatures).ecx & EcxTopologyExtensions);
        Assert.DoesNotContain(table, e => e.function == LeafAmdExtendedApicId);
        Assert.Contains(table, e => e.function == KVM_CPUID_SIGNATURE);
        Assert.Contains(table, e => e.function == LeafExtendedTopology && e.edx == 1);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 2)]
    [InlineData(5, 3)]
    [InlineData(64, 6)]
    public void Core_ID_bits_cover_every_vcpu(int count, int bits) => Assert.Equal(bits, CoreIdBits(count));

    private static kvm_cpuid_entry2 Leaf(kvm_cpuid_entry2[] table, uint function) => table.Single(e => e.function == function && e.index == 0);
}
