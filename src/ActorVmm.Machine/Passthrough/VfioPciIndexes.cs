using ActorVmm.Machine.Interop;

namespace ActorVmm.Machine.Passthrough;

/// <summary>
/// vfio-pci's fixed region and IRQ indexes (linux/vfio.h enums), with their C names; the header check compares
/// them with the kernel header. Public so the passthrough device (ActorVmm.Devices) uses the same numbers.
/// </summary>
[CConstants]
public static class VfioPciIndexes
{
    /// <summary>Region of BAR 0; BAR n is region n.</summary>
    public const int VFIO_PCI_BAR0_REGION_INDEX = 0;

    /// <summary>Region of BAR 5.</summary>
    public const int VFIO_PCI_BAR5_REGION_INDEX = 5;

    /// <summary>The expansion ROM.</summary>
    public const int VFIO_PCI_ROM_REGION_INDEX = 6;

    /// <summary>The configuration space.</summary>
    public const int VFIO_PCI_CONFIG_REGION_INDEX = 7;

    /// <summary>The legacy VGA ranges.</summary>
    public const int VFIO_PCI_VGA_REGION_INDEX = 8;

    /// <summary>Regions every vfio-pci device has.</summary>
    public const int VFIO_PCI_NUM_REGIONS = 9;

    /// <summary>INTx.</summary>
    public const int VFIO_PCI_INTX_IRQ_INDEX = 0;

    /// <summary>MSI.</summary>
    public const int VFIO_PCI_MSI_IRQ_INDEX = 1;

    /// <summary>MSI-X.</summary>
    public const int VFIO_PCI_MSIX_IRQ_INDEX = 2;

    /// <summary>The error-reporting interrupt.</summary>
    public const int VFIO_PCI_ERR_IRQ_INDEX = 3;

    /// <summary>The device-request interrupt.</summary>
    public const int VFIO_PCI_REQ_IRQ_INDEX = 4;

    /// <summary>IRQ indexes every vfio-pci device has.</summary>
    public const int VFIO_PCI_NUM_IRQS = 5;
}
