using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Layout;

/// <summary>What a fixed window of the guest-physical (or port) address space is for.</summary>
public enum MemoryRegionKind
{
    /// <summary>Guest RAM.</summary>
    Ram = 0,

    /// <summary>x86 port I/O space (the PIO bus): legacy devices such as the PIC, PIT, RTC and UARTs.</summary>
    PortIo,

    /// <summary>PCI I/O space reached through MMIO (arm64 has no port instructions).</summary>
    PciIo,

    /// <summary>Fixed platform devices on the MMIO bus (arm64 UART, RTC, PVTIME).</summary>
    PlatformMmio,

    /// <summary>Flash (firmware variables, CFI flash on arm64).</summary>
    Flash,

    /// <summary>virtio-mmio transports.</summary>
    VirtioMmio,

    /// <summary>Interrupt controller registers (arm64 GIC, x86 IOAPIC and local APIC).</summary>
    InterruptController,

    /// <summary>PCI configuration space (ECAM / memory-mapped config).</summary>
    PciConfig,

    /// <summary>Window 32-bit PCI BARs (and BARs of either width) are allocated from, below 4 GiB.</summary>
    PciMmio,

    /// <summary>Window 64-bit prefetchable PCI BARs are allocated from, above RAM.</summary>
    PciMmio64,

    /// <summary>Reserved by convention (legacy VGA/BIOS area, framebuffer) — not a trap region by default.</summary>
    Reserved,
}

/// <summary>One fixed window of a machine's address map.</summary>
/// <param name="Name">Short name used in logs and docs ("pci-config", "uart").</param>
/// <param name="Bus">The bus the window lives on.</param>
/// <param name="Base">First address.</param>
/// <param name="Size">Size in bytes (ports on the PIO bus).</param>
/// <param name="Kind">What the window is for.</param>
public sealed record MemoryMapRegion(string Name, TrapBus Bus, ulong Base, ulong Size, MemoryRegionKind Kind)
{
    /// <summary>Last address inside the window.</summary>
    public ulong Last => Base + Size - 1;

    /// <summary>True when <paramref name="address"/> is inside the window.</summary>
    public bool Contains(ulong address) => address >= Base && address - Base < Size;

    /// <summary>True when the window and [<paramref name="start"/>, <paramref name="last"/>] share an address.</summary>
    public bool Overlaps(ulong start, ulong last) => Base <= last && start <= Last;

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Bus} [0x{Base:X}..0x{Last:X}] {Kind}";
}

/// <summary>One KVM memory slot (or emulator RAM region) for guest RAM.</summary>
/// <param name="Slot">Slot number, from 0.</param>
/// <param name="GuestPhysicalAddress">Where the slot starts in the guest.</param>
/// <param name="Size">Bytes in the slot.</param>
/// <param name="HostOffset">Offset of the slot inside one contiguous host allocation of the whole RAM size.</param>
public sealed record RamSlot(int Slot, ulong GuestPhysicalAddress, ulong Size, ulong HostOffset)
{
    /// <summary>Last guest-physical address in the slot.</summary>
    public ulong Last => GuestPhysicalAddress + Size - 1;
}
