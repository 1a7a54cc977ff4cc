using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Kvm.Tests.Kvm;

public sealed class KvmHypervisorTests
{
    private const string MissingDevice = "/nonexistent/actorvmm-test/kvm";
    private const ushort AnyPort = 0x600;

    [Fact]
    public void Missing_device_gives_a_clear_error_suggesting_the_emulator_backend()
    {
        var ex = Assert.Throws<KvmUnavailableException>(() => new KvmHypervisor(MissingDevice, null));

        Assert.Contains(MissingDevice, ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--backend emulator", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Is_available_agrees_with_whether_the_constructor_succeeds()
    {
        bool available = KvmHypervisor.IsAvailable(out string reason);

        Assert.False(string.IsNullOrWhiteSpace(reason));
        if (available)
        {
            using var hypervisor = new KvmHypervisor();
            Assert.Equal("kvm", hypervisor.Name);
        }
        else
        {
            Assert.Throws<KvmUnavailableException>(() => new KvmHypervisor());
        }
    }

    [Fact]
    public void Coalescing_port_io_without_KVM_CAP_COALESCED_PIO_is_refused_at_registration_and_leaves_the_table_unchanged()
    {
        using var noVm = new SafeFdHandle();
        var table = new TrapTable(maxVcpus: 1, new KvmCoalescingListener(noVm, hasCoalescedPio: false));
        var writer = table.ClaimWriter();

        var ex = Assert.Throws<TrapRegistrationException>(() => writer.Register(TrapBus.Pio, AnyPort, 1, _ => { }, TrapFlags.Coalesce, "uart"));

        Assert.Contains(nameof(KvmConstants.KVM_CAP_COALESCED_PIO), ex.Message, StringComparison.Ordinal);
        Assert.Empty(table.Regions(TrapBus.Pio));
    }

    [Fact]
    public void Regions_without_the_coalesce_flag_never_reach_the_kernel()
    {
        using var noVm = new SafeFdHandle();
        var table = new TrapTable(maxVcpus: 1, new KvmCoalescingListener(noVm, hasCoalescedPio: false));
        var writer = table.ClaimWriter();

        var handle = writer.Register(TrapBus.Pio, AnyPort, 1, _ => { }, name: "plain");

        Assert.True(writer.Unregister(handle));
    }
}
