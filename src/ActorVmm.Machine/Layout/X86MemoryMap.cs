using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Layout;

/// <summary>
/// The x86-64 layout (kvmtool's <c>x86/include/kvm/kvm-arch.h</c>, with the PCI windows sized as QEMU sizes
/// them): RAM from 0 up to a 768 MiB hole below 4 GiB, the rest of RAM from 4 GiB; the hole holds the
/// framebuffer, PCI config, the 32-bit PCI BAR window, virtio-mmio, the APICs and the pages KVM keeps for
/// itself on Intel; a 64-bit PCI BAR window follows RAM. Legacy devices live on the port bus.
/// <code>
/// guest-physical (MMIO bus)                      port bus
/// 0x0_0000_0000 +---------------------------+    0x0000 +-------------------+
///               | RAM slot 0                |           | PIC 0x20, PIT 0x40|
///               |  0xA_0000-0xF_FFFF legacy |           | 0x61, i8042 0x60  |
///               |  VGA/BIOS (reserved)      |           | RTC 0x70, 0x80,   |
/// 0x0_D000_0000 +---------------------------+           | 0xF4 exit, COMs,  |
///               | framebuffer (16 MiB)      |           | ELCR 0x4D0, PCI   |
/// 0x0_D100_0000 | PCI config (16 MiB)       |           | CF8/CFC ...       |
/// 0x0_D200_0000 | PCI MMIO, 32-bit (704 MiB)|    0xFFFF +-------------------+
/// 0x0_FE00_0000 | virtio-mmio (12 MiB)      |
/// 0x0_FEC0_0000 | IOAPIC                    |
/// 0x0_FEE0_0000 | local APIC                |
/// 0x0_FFFB_C000 | KVM identity map + TSS    |
/// 0x1_0000_0000 +---------------------------+
///               | RAM slot 1 (RAM beyond    |
///               | 3.25 GiB, if any)         |
///               +---------------------------+ (aligned up to 1 GiB)
///               | PCI MMIO, 64-bit (32 GiB) |
///               +---------------------------+
/// </code>
/// </summary>
public sealed class X86MemoryMap : MemoryMap
{
    /// <summary>Top of the 32-bit address space.</summary>
    public const ulong FourGiB = 1UL << 32;

    /// <summary>Size of the 32-bit MMIO hole (kvmtool's <c>KVM_32BIT_GAP_SIZE</c>).</summary>
    public const ulong MmioHoleSize = 768UL << 20;

    /// <summary>Start of the hole: RAM below it, devices in it (<c>KVM_32BIT_GAP_START</c>).</summary>
    public const ulong MmioHoleStart = FourGiB - MmioHoleSize;

    /// <summary>Framebuffer window at the start of the hole.</summary>
    public const ulong FramebufferBase = MmioHoleStart;

    /// <summary>Framebuffer window size: 16 MiB (a 2560×1600 32-bit frame with room to spare).</summary>
    public const ulong FramebufferSize = 0x100_0000;

    /// <summary>PCI configuration window (<c>KVM_PCI_CFG_AREA</c>).</summary>
    public const ulong PciConfigBase = FramebufferBase + FramebufferSize;

    /// <summary>PCI config window size: 16 MiB (256 buses × 32 devices × 8 functions × 256 bytes).</summary>
    public const ulong PciConfigSize = 1UL << 24;

    /// <summary>32-bit PCI BAR window (<c>KVM_PCI_MMIO_AREA</c>), reaching up to the virtio-mmio window.</summary>
    public const ulong PciMmioBase = PciConfigBase + PciConfigSize;

    /// <summary>virtio-mmio transports (kvmtool's <c>KVM_VIRTIO_MMIO_AREA</c>, moved to the top of the hole so PCI gets the bulk of it).</summary>
    public const ulong VirtioMmioBase = 0xFE00_0000;

    /// <summary>32-bit PCI BAR window size: 704 MiB, the hole less the framebuffer, config and fixed windows (QEMU's PC gives PCI the same share).</summary>
    public const ulong PciMmioSize = VirtioMmioBase - PciMmioBase;

    /// <summary>IOAPIC registers.</summary>
    public const ulong IoApicBase = 0xFEC0_0000;

    /// <summary>virtio-mmio window size (12 MiB: thousands of 512-byte transports).</summary>
    public const ulong VirtioMmioSize = IoApicBase - VirtioMmioBase;

    /// <summary>Local APIC registers.</summary>
    public const ulong LocalApicBase = 0xFEE0_0000;

    /// <summary>Size of each APIC register page.</summary>
    public const ulong ApicSize = 0x1000;

    /// <summary>The page KVM uses for its identity-mapped page table on Intel (<c>KVM_SET_IDENTITY_MAP_ADDR</c>; QEMU's old address).</summary>
    public const ulong KvmIdentityMapAddress = 0xFFFB_C000;

    /// <summary>The three pages of KVM's real-mode TSS on Intel (<c>KVM_SET_TSS_ADDR</c>), right after the identity-map page.</summary>
    public const ulong KvmTssAddress = KvmIdentityMapAddress + PageSize;

    /// <summary>The identity-map page plus the three TSS pages, reserved so nothing else is placed there.</summary>
    public const ulong KvmPrivateSize = 4 * PageSize;

    /// <summary>Legacy VGA and BIOS area inside RAM slot 0 (e820-reserved, as kvmtool reports it).</summary>
    public const ulong LegacyVgaBiosBase = 0xA_0000;

    /// <summary>Size of the legacy VGA and BIOS area (640 KiB – 1 MiB).</summary>
    public const ulong LegacyVgaBiosSize = 0x6_0000;

    /// <summary>Alignment of the 64-bit PCI BAR window placed after RAM.</summary>
    public const ulong PciMmio64Alignment = 1UL << 30;

    /// <summary>64-bit PCI BAR window size (QEMU q35's default <c>pci-hole64-size</c>).</summary>
    public const ulong PciMmio64Size = 32UL << 30;

    /// <summary>Size of the port I/O space.</summary>
    public const ulong PortSpaceSize = 0x1_0000;

    /// <summary>First port of the window I/O BARs are assigned from (kvmtool's <c>PCI_IOPORT_START</c>, above every legacy port).</summary>
    public const ulong PciIoBase = 0x6200;

    /// <summary>Ports in the I/O BAR window: up to the end of the port space.</summary>
    public const ulong PciIoSize = PortSpaceSize - PciIoBase;

    /// <summary>RAM limit accepted here (1 TiB).</summary>
    public const ulong MaxRam = 1UL << 40;

    /// <summary>Name of the 64-bit PCI BAR window in <see cref="MemoryLayout.Windows"/>.</summary>
    public const string PciMmio64Name = "pci-mmio-64";

    private static readonly MemoryMapRegion[] Regions =
    [
        new("legacy-vga-bios", TrapBus.Mmio, LegacyVgaBiosBase, LegacyVgaBiosSize, MemoryRegionKind.Reserved),
        new("framebuffer", TrapBus.Mmio, FramebufferBase, FramebufferSize, MemoryRegionKind.Reserved),
        new(PciConfigName, TrapBus.Mmio, PciConfigBase, PciConfigSize, MemoryRegionKind.PciConfig),
        new(PciMmioName, TrapBus.Mmio, PciMmioBase, PciMmioSize, MemoryRegionKind.PciMmio),
        new("virtio-mmio", TrapBus.Mmio, VirtioMmioBase, VirtioMmioSize, MemoryRegionKind.VirtioMmio),
        new("ioapic", TrapBus.Mmio, IoApicBase, ApicSize, MemoryRegionKind.InterruptController),
        new("local-apic", TrapBus.Mmio, LocalApicBase, ApicSize, MemoryRegionKind.InterruptController),
        new("kvm-tss", TrapBus.Mmio, KvmIdentityMapAddress, KvmPrivateSize, MemoryRegionKind.Reserved),
        new("legacy-ports", TrapBus.Pio, 0, PortSpaceSize, MemoryRegionKind.PortIo),
    ];

    /// <inheritdoc />
    public override string Architecture => "x86_64";

    /// <inheritdoc />
    public override IReadOnlyList<MemoryMapRegion> FixedRegions => Regions;

    /// <inheritdoc />
    public override ulong MaxRamSize => MaxRam;

    /// <inheritdoc />
    protected override IReadOnlyList<RamSlot> LayOutRam(ulong ramSize)
    {
        if (ramSize <= MmioHoleStart)
        {
            return [new RamSlot(0, 0, ramSize, 0)];
        }

        // Split around the hole: what does not fit below it continues at 4 GiB.
        return
        [
            new RamSlot(0, 0, MmioHoleStart, 0),
            new RamSlot(1, FourGiB, ramSize - MmioHoleStart, MmioHoleStart),
        ];
    }

    /// <inheritdoc />
    protected override IEnumerable<MemoryMapRegion> WindowsAfterRam(IReadOnlyList<RamSlot> slots)
    {
        // After RAM (never below 4 GiB), so a guest with few physical address bits can still reach it.
        ulong ramEnd = slots.Max(s => s.GuestPhysicalAddress + s.Size);
        ulong start = Math.Max(FourGiB, AlignUp(ramEnd, PciMmio64Alignment));
        yield return new MemoryMapRegion(PciMmio64Name, TrapBus.Mmio, start, PciMmio64Size, MemoryRegionKind.PciMmio64);
    }

    private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
}
