using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Layout;

/// <summary>
/// The arm64 layout (kvmtool's <c>arm/include/arm-common/kvm-arch.h</c>): everything is MMIO;
/// PCI I/O space in the first 64 KiB, platform devices from 16 MiB (the same 16550 UART and
/// MC146818 RTC code as on x86, on the MMIO bus), flash, virtio-mmio, the GIC just below 1 GiB,
/// PCI config and BARs between 1 and 2 GiB, RAM from 2 GiB.
/// <code>
/// 0x0000_0000 +-----------------------------+
///             | PCI I/O space (64 KiB)      |
/// 0x0001_0000 | (unused)                    |
/// 0x0100_0000 | UART 16550 (64 KiB)         |
/// 0x0101_0000 | RTC MC146818 (64 KiB)       |
/// 0x0102_0000 | PVTIME (64 KiB)             |
/// 0x0200_0000 | flash (16 MiB)              |
/// 0x0300_0000 | virtio-mmio                 |
/// 0x3FFD_0000 | GIC CPU interface (128 KiB) |
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

    /// <summary>GIC CPU interface size.</summary>
    public const ulong GicCpuInterfaceSize = 0x2_0000;

    /// <summary>GIC distributor (<c>ARM_GIC_DIST_BASE</c>).</summary>
    public const ulong GicDistributorBase = AxiBase - GicDistributorSize;

    /// <summary>GIC CPU interface (<c>ARM_GIC_CPUI_BASE</c>); GICv3 redistributors are placed below the distributor instead.</summary>
    public const ulong GicCpuInterfaceBase = GicDistributorBase - GicCpuInterfaceSize;

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
        new("virtio-mmio", TrapBus.Mmio, VirtioMmioBase, GicCpuInterfaceBase - VirtioMmioBase, MemoryRegionKind.VirtioMmio),
        new("gic-cpu-interface", TrapBus.Mmio, GicCpuInterfaceBase, GicCpuInterfaceSize, MemoryRegionKind.InterruptController),
        new("gic-distributor", TrapBus.Mmio, GicDistributorBase, GicDistributorSize, MemoryRegionKind.InterruptController),
        new("pci-config", TrapBus.Mmio, PciConfigBase, PciConfigSize, MemoryRegionKind.PciConfig),
        new("pci-mmio", TrapBus.Mmio, PciMmioBase, RamBase - PciMmioBase, MemoryRegionKind.PciMmio),
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
