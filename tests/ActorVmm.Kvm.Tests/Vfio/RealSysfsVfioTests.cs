using ActorVmm.Kvm.Vfio;
using ActorVmm.Machine.Passthrough;

namespace ActorVmm.Kvm.Tests.Vfio;

/// <summary>The real kernel seam's sysfs reading, on whatever PCI devices this host has (none of them is opened).</summary>
public sealed class RealSysfsVfioTests
{
    private const string Devices = "/sys/bus/pci/devices";

    [Fact]
    public void An_address_with_no_device_on_this_host_is_refused_before_any_vfio_file_is_opened()
    {
        var nowhere = new VfioPciAddress(0xFFFF, 0xFF, 0x1F, 7);
        Assert.False(Directory.Exists($"{Devices}/{nowhere}"));

        var error = Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(nowhere, []));
        Assert.Contains("no PCI device ffff:ff:1f.7", error.Message);
    }

    /// <summary>The first device here that VFIO cannot take (no IOMMU group, or bound to another driver), or null.</summary>
    internal static string? NonVfioDevice
    {
        get
        {
            var candidates = Directory.Exists(Devices) ? Directory.GetDirectories(Devices).Order(StringComparer.Ordinal).ToArray() : [];
            return candidates.FirstOrDefault(d => VfioPciAddress.TryParse(Path.GetFileName(d), out _, out _)
                && (!Directory.Exists($"{d}/iommu_group") || new FileInfo($"{d}/driver").LinkTarget is { } t && !t.EndsWith("/vfio-pci", StringComparison.Ordinal)));
        }
    }

    [NonVfioPciDeviceFact]
    public void A_real_device_not_bound_to_vfio_pci_is_refused_with_the_step_that_is_missing()
    {
        string path = NonVfioDevice!;
        Assert.True(VfioPciAddress.TryParse(Path.GetFileName(path), out var address, out _));

        var error = Assert.Throws<VfioSetupException>(() => VfioHostDevice.Open(address, []));

        string expected = Directory.Exists($"{path}/iommu_group") ? "not vfio-pci" : "no IOMMU group";
        Assert.Contains(expected, error.Message);
        Assert.Contains(address.ToString(), error.Message);
    }
}

/// <summary>A fact that runs only where sysfs lists a PCI device outside vfio-pci; elsewhere it is skipped with the reason.</summary>
public sealed class NonVfioPciDeviceFactAttribute : FactAttribute
{
    public NonVfioPciDeviceFactAttribute() =>
        Skip = RealSysfsVfioTests.NonVfioDevice is null ? "Skipped: sysfs lists no PCI device outside vfio-pci on this host" : null;
}
