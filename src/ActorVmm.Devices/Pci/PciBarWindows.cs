using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The address windows the VMM assigns BARs from when it creates a VM, as firmware would (kvmtool and Firecracker boot
/// without firmware and do the same): I/O BARs from a port window, 32-bit memory BARs from the window below 4 GiB,
/// 64-bit memory BARs from the window above RAM when the layout has one (else from the 32-bit window).
/// </summary>
/// <param name="Io">The port window I/O BARs come from.</param>
/// <param name="Memory32">The memory window below 4 GiB.</param>
/// <param name="Memory64">The memory window above RAM, or null.</param>
public sealed record PciBarWindows(MemoryMapRegion Io, MemoryMapRegion Memory32, MemoryMapRegion? Memory64)
{
    /// <summary>Name of the I/O BAR window (it has no entry of its own in the map: it is part of the port space).</summary>
    public const string IoWindowName = "pci-io";

    /// <summary>The windows of an x86 VM: ports from <see cref="X86MemoryMap.PciIoBase"/>, the map's 32-bit window, the layout's 64-bit window.</summary>
    /// <exception cref="ArgumentException">The layout is not an x86 one.</exception>
    public static PciBarWindows X86(MemoryLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (layout.Map is not X86MemoryMap)
        {
            throw new ArgumentException($"x86 PCI windows need the x86 layout, not {layout.Map.Architecture}", nameof(layout));
        }

        return new PciBarWindows(
            new MemoryMapRegion(IoWindowName, TrapBus.Pio, X86MemoryMap.PciIoBase, X86MemoryMap.PciIoSize, MemoryRegionKind.PortIo),
            layout.Map.Region(MemoryMap.PciMmioName),
            layout.Windows.FirstOrDefault(w => w.Kind == MemoryRegionKind.PciMmio64));
    }

    /// <summary>The window BARs of <paramref name="kind"/> are assigned from.</summary>
    public MemoryMapRegion For(PciBarKind kind) => kind switch
    {
        PciBarKind.Io => Io,
        PciBarKind.Memory64 when Memory64 is not null => Memory64,
        _ => Memory32,
    };
}
