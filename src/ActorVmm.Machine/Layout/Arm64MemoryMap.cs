using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Machine.Layout;

/// <summary>
/// The arm64 layout (kvmtool's <c>arm/include/arm-common/kvm-arch.h</c>): everything is MMIO;
/// PCI I/O space in the first 64 KiB, platform devices from 16 MiB (the same 16550 UART and
/// MC146818 RTC code as on x86, on the MMIO bus), flash, virtio-mmio, the GICv3 just below 1 GiB (the
/// distributor, and below it one 128 KiB redistributor per vCPU, room for <see cref="VmSpec.MaxVcpus"/>), PCI
/// config and BARs between 1 and 2 GiB, RAM from 2 GiB.
/// <code>
/// 0x0000_0000 +-----------------------------+
///             | PCI I/O space (64 KiB)      |
/// 0x0001_0000 | (unused)                    |
/// 0x0100_0000 | UART 16550 (64 KiB)         |
/// 0x0101_0000 | RTC MC146818 (64 KiB)       |
/// 0x0102_0000 | PVTIME (64 KiB)             |
/// 0x0200_0000 | flash (16 MiB)              |
/// 0x0300_0000 | virtio-mmio                 |
/// 0x3F7F_0000 | GICv3 redistributors (8 MiB)|
/// 0x3FFF_0000 | GIC distributor (64 KiB)    |
/// 0x4000_0000 | PCI config / ECAM (256 MiB) |
/// 0x5000_0000 | PCI MMIO (768 MiB)          |
/// 0x8000_0000 +-----------------------------+
///             | RAM (one slot)              |
///             +-----------------------------+
/// </code>
/// </summary>
public sealed class Arm64MemoryMap : MemoryMap
{
    /// <summary>PCI I/O space (<c>ARM_IOPORT_AREA</c>).</summary>
    public const ulong PciIoBase = 0;

    /// <summary>PCI I/O space size (64 KiB).</summary>
    public const ulong PciIoSize = 1UL << 16;

    /// <summary>Platform MMIO area (<c>ARM_MMIO_AREA</c>).</summary>
    public const ulong PlatformMmioBase = 0x0100_0000;

    /// <summary>The 16550 UART (<c>ARM_UART_MMIO_BASE</c>).</summary>
    public const ulong UartBase = PlatformMmioBase;

    /// <summary>Window per platform device.</summary>
    public const ulong PlatformDeviceSize = 0x1_0000;

    /// <summary>The MC146818 RTC (<c>ARM_RTC_MMIO_BASE</c>).</summary>
    public const ulong RtcBase = UartBase + PlatformDeviceSize;

    /// <summary>Stolen-time (PVTIME) structures.</summary>
    public const ulong PvTimeBase = RtcBase + PlatformDeviceSize;

    /// <summary>Flash (<c>KVM_FLASH_MMIO_BASE</c>).</summary>
    public const ulong FlashBase = PlatformMmioBase + 0x100_0000;

    /// <summary>Flash size (<c>KVM_FLASH_MAX_SIZE</c>).</summary>
    public const ulong FlashSize = 0x100_0000;

    /// <summary>virtio-mmio transports (<c>KVM_VIRTIO_MMIO_AREA</c>).</summary>
    public const ulong VirtioMmioBase = FlashBase + FlashSize;

    /// <summary>Start of the AXI area: PCI config; the GIC sits just below it (<c>ARM_AXI_AREA</c>).</summary>
    public const ulong AxiBase = 0x4000_0000;

    /// <summary>GIC distributor size.</summary>
    public const ulong GicDistributorSize = 0x1_0000;

    /// <summary>GIC distributor (<c>ARM_GIC_DIST_BASE</c>).</summary>
    public const ulong GicDistributorBase = AxiBase - GicDistributorSize;

    /// <summary>One GICv3 redistributor: its RD_base and SGI_base frames, 64 KiB each (<c>ARM_GIC_REDIST_SIZE</c>).</summary>
    public const ulong GicRedistributorSize = 0x2_0000;

    /// <summary>The redistributor window: room for one redistributor per vCPU of the largest VM.</summary>
    public const ulong GicRedistributorsSize = VmSpec.MaxVcpus * GicRedistributorSize;

    /// <summary>Lowest address of the redistributor window, which ends where the distributor starts.</summary>
    public const ulong GicRedistributorsBase = GicDistributorBase - GicRedistributorsSize;

    /// <summary>Name of the redistributor window.</summary>
    public const string GicRedistributorsName = "gic-redistributors";

    /// <summary>Name of the distributor window.</summary>
    public const string GicDistributorName = "gic-distributor";

    /// <summary>
    /// The redistributors a VM with <paramref name="vcpus"/> vCPUs uses: one per vCPU, contiguous, ending at the
    /// distributor (kvmtool's <c>gic_redists_base = ARM_GIC_DIST_BASE - nrcpus * ARM_GIC_REDIST_SIZE</c>) — the top of
    /// the redistributor window.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not between 1 and <see cref="VmSpec.MaxVcpus"/>.</exception>
    public static (ulong Base, ulong Size) GicRedistributors(int vcpus)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vcpus, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vcpus, VmSpec.MaxVcpus);
        ulong size = (ulong)vcpus * GicRedistributorSize;
        return (GicDistributorBase - size, size);
    }

    /// <summary>PCI config (ECAM) window (<c>KVM_PCI_CFG_AREA</c>).</summary>
    public const ulong PciConfigBase = AxiBase;

    /// <summary>PCI config size: 256 MiB of ECAM.</summary>
    public const ulong PciConfigSize = 1UL << 28;

    /// <summary>PCI BAR window (<c>KVM_PCI_MMIO_AREA</c>).</summary>
    public const ulong PciMmioBase = PciConfigBase + PciConfigSize;

    /// <summary>Guest RAM start (<c>ARM_MEMORY_AREA</c>).</summary>
    public const ulong RamBase = 0x8000_0000;

    /// <summary>RAM limit: a 40-bit IPA space minus the 2 GiB below RAM (<c>ARM_HIMAP_MAX_MEMORY</c>).</summary>
    public const ulong MaxRam = (1UL << 40) - RamBase;

    private static readonly MemoryMapRegion[] Regions =
    [
        new("pci-io", TrapBus.Mmio, PciIoBase, PciIoSize, MemoryRegionKind.PciIo),
        new("uart", TrapBus.Mmio, UartBase, PlatformDeviceSize, MemoryRegionKind.PlatformMmio),
        new("rtc", TrapBus.Mmio, RtcBase, PlatformDeviceSize, MemoryRegionKind.PlatformMmio),
        new("pvtime", TrapBus.Mmio, PvTimeBase, PlatformDeviceSize, MemoryRegionKind.PlatformMmio),
        new("flash", TrapBus.Mmio, FlashBase, FlashSize, MemoryRegionKind.Flash),
        new("virtio-mmio", TrapBus.Mmio, VirtioMmioBase, GicRedistributorsBase - VirtioMmioBase, MemoryRegionKind.VirtioMmio),
        new(GicRedistributorsName, TrapBus.Mmio, GicRedistributorsBase, GicRedistributorsSize, MemoryRegionKind.InterruptController),
        new(GicDistributorName, TrapBus.Mmio, GicDistributorBase, GicDistributorSize, MemoryRegionKind.InterruptController),
        new(PciConfigName, TrapBus.Mmio, PciConfigBase, PciConfigSize, MemoryRegionKind.PciConfig),
        new(PciMmioName, TrapBus.Mmio, PciMmioBase, RamBase - PciMmioBase, MemoryRegionKind.PciMmio),
    ];

    /// <inheritdoc />
    public override string Architecture => "arm64";

    /// <inheritdoc />
    public override IReadOnlyList<MemoryMapRegion> FixedRegions => Regions;

    /// <inheritdoc />
    public override ulong MaxRamSize => MaxRam;

    /// <inheritdoc />
    protected override IReadOnlyList<RamSlot> LayOutRam(ulong ramSize) => [new RamSlot(0, RamBase, ramSize, 0)];
}
