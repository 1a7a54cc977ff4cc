using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Host.Tests.Cli;

public class BackendSelectorTests
{
    [Fact]
    public void Auto_picks_kvm_when_it_is_available()
    {
        var (kind, reason) = BackendSelector.Select(BackendKind.Auto, new Catalog(kvm: true, emulator: true));
        Assert.Equal(BackendKind.Kvm, kind);
        Assert.Contains("auto", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_falls_back_to_the_emulator_and_says_why()
    {
        var (kind, reason) = BackendSelector.Select(BackendKind.Auto, new Catalog(kvm: false, emulator: true));
        Assert.Equal(BackendKind.Emulator, kind);
        Assert.Contains(Catalog.KvmMissing, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Kvm_requested_where_there_is_none_is_bad_input()
    {
        var ex = Assert.Throws<UsageException>(() => BackendSelector.Select(BackendKind.Kvm, new Catalog(kvm: false, emulator: true)));
        Assert.Contains("the kvm backend is not available", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Catalog.KvmMissing, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Emulator_requested_is_used_even_where_kvm_exists()
    {
        var (kind, _) = BackendSelector.Select(BackendKind.Emulator, new Catalog(kvm: true, emulator: true));
        Assert.Equal(BackendKind.Emulator, kind);
    }

    [Fact]
    public void Kvm_probe_reports_a_missing_device_node()
    {
        string path = Path.Combine(Path.GetTempPath(), $"no-kvm-{Guid.NewGuid():N}");
        Assert.False(KvmProbe.IsAvailable(path, out string reason));
        Assert.Contains("does not exist", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto", BackendKind.Auto)]
    [InlineData("KVM", BackendKind.Kvm)]
    [InlineData("emulator", BackendKind.Emulator)]
    public void Backend_names_parse_case_insensitively(string text, BackendKind expected)
    {
        Assert.True(BackendKinds.TryParse(text, out var kind));
        Assert.Equal(expected, kind);
    }

    /// <summary>A catalog whose availability the test decides; it never creates hypervisors.</summary>
    private sealed class Catalog(bool kvm, bool emulator) : IBackendCatalog
    {
        public const string KvmMissing = "/dev/kvm does not exist";

        public bool IsAvailable(BackendKind kind, out string reason)
        {
            bool available = kind == BackendKind.Kvm ? kvm : emulator;
            reason = available ? string.Empty : kind == BackendKind.Kvm ? KvmMissing : "no emulator";
            return available;
        }

        public IHypervisor Create(BackendKind kind, Microsoft.Extensions.Logging.ILoggerFactory loggers) => throw new NotSupportedException("selection tests never create a hypervisor");
    }
}
