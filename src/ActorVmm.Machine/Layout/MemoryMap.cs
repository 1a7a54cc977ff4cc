using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Layout;

/// <summary>
/// A machine's address map: where RAM goes and which windows are set aside for devices, PCI and
/// interrupt controllers (kvmtool's per-architecture <c>kvm-arch.h</c> layouts, as code).
/// <see cref="Layout"/> applies it to one VM's RAM size; both backends build guest RAM from that.
/// </summary>
public abstract class MemoryMap
{
    /// <summary>Guest pages RAM sizes must be a multiple of.</summary>
    public const ulong PageSize = 4096;

    /// <summary>Name of the PCI configuration (ECAM) window in <see cref="FixedRegions"/>, on every map that has PCI.</summary>
    public const string PciConfigName = "pci-config";

    /// <summary>Name of the window 32-bit PCI BARs are assigned from, on every map that has PCI.</summary>
    public const string PciMmioName = "pci-mmio";

    /// <summary>The x86-64 layout.</summary>
    public static MemoryMap X86 { get; } = new X86MemoryMap();

    /// <summary>The arm64 layout.</summary>
    public static MemoryMap Arm64 { get; } = new Arm64MemoryMap();

    /// <summary>Architecture name ("x86_64", "arm64").</summary>
    public abstract string Architecture { get; }

    /// <summary>The windows whose place does not depend on the RAM size, in address order per bus.</summary>
    public abstract IReadOnlyList<MemoryMapRegion> FixedRegions { get; }

    /// <summary>The largest RAM size the layout accepts.</summary>
    public abstract ulong MaxRamSize { get; }

    /// <summary>The window named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No window has that name.</exception>
    public MemoryMapRegion Region(string name) =>
        FixedRegions.FirstOrDefault(r => r.Name == name)
        ?? throw new KeyNotFoundException($"The {Architecture} memory map has no region named '{name}'");

    /// <summary>
    /// The RAM slots for <paramref name="ramSize"/> bytes, in guest-address order, with offsets into
    /// one contiguous host allocation.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is zero, not page-aligned or above <see cref="MaxRamSize"/>.</exception>
    public IReadOnlyList<RamSlot> RamSlots(ulong ramSize)
    {
        if (ramSize == 0 || ramSize % PageSize != 0 || ramSize > MaxRamSize)
        {
            throw new ArgumentOutOfRangeException(
                nameof(ramSize),
                ramSize,
                $"RAM size must be a non-zero multiple of {PageSize} bytes and at most 0x{MaxRamSize:X} bytes on {Architecture}");
        }

        return LayOutRam(ramSize);
    }

    /// <summary>The whole map of one VM with <paramref name="ramSize"/> bytes of RAM: its RAM slots and every window.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is zero, not page-aligned or above <see cref="MaxRamSize"/>.</exception>
    public MemoryLayout Layout(ulong ramSize)
    {
        var slots = RamSlots(ramSize);
        return new MemoryLayout(this, ramSize, slots, [.. FixedRegions, .. WindowsAfterRam(slots)]);
    }

    /// <summary>The fixed window at <paramref name="address"/> on <paramref name="bus"/>, else null.</summary>
    public MemoryMapRegion? FindFixed(TrapBus bus, ulong address) =>
        FixedRegions.FirstOrDefault(r => r.Bus == bus && r.Contains(address));

    /// <summary>Lays out RAM of an already validated size.</summary>
    protected abstract IReadOnlyList<RamSlot> LayOutRam(ulong ramSize);

    /// <summary>Windows placed relative to RAM (the 64-bit PCI window above it); none by default.</summary>
    protected virtual IEnumerable<MemoryMapRegion> WindowsAfterRam(IReadOnlyList<RamSlot> slots) => [];
}
