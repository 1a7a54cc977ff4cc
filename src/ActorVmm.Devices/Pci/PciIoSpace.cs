namespace ActorVmm.Devices.Pci;

/// <summary>The PCI I/O address space I/O BARs decode in (x86 port space; arm64's PCI I/O MMIO window).</summary>
public static class PciIoSpace
{
    /// <summary>Last port an I/O BAR may cover.</summary>
    public const ulong LastPort = 0xFFFF;
}
