using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Machine.Tests.Layout;

public sealed class Arm64GicLayoutTests
{
    private const ulong RedistributorBytes = 128 * 1024;

    [Fact]
    public void Redistributor_window_sits_right_below_the_distributor_with_128KiB_for_every_possible_vcpu()
    {
        var distributor = MemoryMap.Arm64.Region(Arm64MemoryMap.GicDistributorName);
        var redistributors = MemoryMap.Arm64.Region(Arm64MemoryMap.GicRedistributorsName);

        Assert.Equal(MemoryRegionKind.InterruptController, redistributors.Kind);
        Assert.Equal(distributor.Base, redistributors.Base + redistributors.Size);
        Assert.Equal(VmSpec.MaxVcpus * RedistributorBytes, redistributors.Size);
        Assert.Equal(redistributors.Base, MemoryMap.Arm64.Region("virtio-mmio").Last + 1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(VmSpec.MaxVcpus)]
    public void A_VM_uses_the_top_of_the_window_one_redistributor_per_vcpu_as_kvmtool_places_them(int vcpus)
    {
        var window = MemoryMap.Arm64.Region(Arm64MemoryMap.GicRedistributorsName);

        var (address, size) = Arm64MemoryMap.GicRedistributors(vcpus);

        Assert.Equal((ulong)vcpus * RedistributorBytes, size);
        Assert.Equal(Arm64MemoryMap.GicDistributorBase - size, address);
        Assert.True(window.Contains(address) && window.Contains(address + size - 1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(VmSpec.MaxVcpus + 1)]
    public void Redistributors_for_an_impossible_vcpu_count_are_refused(int vcpus) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Arm64MemoryMap.GicRedistributors(vcpus));
}
