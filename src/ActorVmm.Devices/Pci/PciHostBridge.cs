namespace ActorVmm.Devices.Pci;

/// <summary>
/// Function 00:00.0, the host bridge every PC-style bus starts with: a plain host bridge (class 06/00/00) with no BARs
/// and no interrupt. IDs are Intel's 0x8086:0x0D57, the virtual PCIe host bridge cloud-hypervisor and Firecracker
/// present, which Linux drives with no quirks.
/// </summary>
public static class PciHostBridge
{
    /// <summary>Intel.</summary>
    public const ushort VendorId = 0x8086;

    /// <summary>Virtual host bridge (cloud-hypervisor's <c>DEVICE_ID_INTEL_VIRT_PCIE_HOST</c>).</summary>
    public const ushort DeviceId = 0x0D57;

    /// <summary>The host bridge's definition.</summary>
    public static PciFunctionDefinition Definition { get; } = new()
    {
        VendorId = VendorId,
        DeviceId = DeviceId,
        ClassCode = PciClassCode.HostBridge,
    };
}
