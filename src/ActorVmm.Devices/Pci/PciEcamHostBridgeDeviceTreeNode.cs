using ActorVmm.Devices.DeviceTree;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Pci;

/// <summary>
/// The device-tree node of the generic ECAM PCI host bridge (Linux's <c>pci-host-ecam-generic</c>, kvmtool's
/// <c>pci__generate_fdt_nodes</c>, QEMU virt's <c>create_pcie</c>): the ECAM window as <c>reg</c>, the buses it covers,
/// the layout's I/O and memory windows as <c>ranges</c>, and INTx routed to four level-triggered SPIs with
/// <see cref="PciIntxRouting.Swizzle"/> — pin INTx of device d reaches line (x − 1 + d) mod 4 — written for device
/// numbers 0–3 and repeated for the rest through <c>interrupt-map-mask</c>.
/// </summary>
/// <param name="Layout">The VM's layout: its <c>PciConfig</c>, <c>PciIo</c>, <c>PciMmio</c> and (if any) <c>PciMmio64</c> windows.</param>
/// <param name="IntxLines">The interrupt lines (backend GSIs) of INTA, INTB, INTC and INTD after the swizzle (PIRQA–D).</param>
public sealed record PciEcamHostBridgeDeviceTreeNode(MemoryLayout Layout, IReadOnlyList<int> IntxLines) : IDescribesDeviceTree
{
    /// <summary>Node name the PCI bus binding asks for.</summary>
    public const string NodeName = "pci";

    /// <summary>Linux's generic ECAM host driver.</summary>
    public const string CompatibleString = "pci-host-ecam-generic";

    /// <summary>PCI addresses are three cells: phys.hi (space code, bus, device, function, register), phys.mid, phys.lo.</summary>
    public const int PciAddressCells = 3;

    /// <summary>PCI sizes are two cells (64 bits).</summary>
    public const int PciSizeCells = 2;

    /// <summary>An INTx specifier is one cell: the pin, 1 (INTA) to 4 (INTD).</summary>
    public const int PciInterruptCells = 1;

    /// <summary>phys.hi space code for I/O space (bits 25:24 = 01).</summary>
    public const uint IoSpace = 0x0100_0000;

    /// <summary>phys.hi space code for 32-bit memory space (bits 25:24 = 10).</summary>
    public const uint Memory32Space = 0x0200_0000;

    /// <summary>phys.hi space code for 64-bit memory space (bits 25:24 = 11).</summary>
    public const uint Memory64Space = 0x0300_0000;

    /// <summary>phys.hi bit 30: the range is prefetchable.</summary>
    public const uint PrefetchableBit = 0x4000_0000;

    /// <summary>phys.hi bits 15:11: the device number.</summary>
    public const int DeviceShift = 11;

    /// <summary>INTx pins (and the lines they are swizzled onto).</summary>
    public const int IntxPins = PciIntxRouting.LineCount;

    /// <summary>
    /// <c>interrupt-map-mask</c>: the low two bits of the device number (the swizzle repeats every four devices) and the
    /// pin; bus, function and phys.mid/lo are ignored.
    /// </summary>
    public static IReadOnlyList<uint> InterruptMapMask { get; } = [(IntxPins - 1) << DeviceShift, 0, 0, 7];

    /// <inheritdoc />
    public void Describe(DeviceTreeBuilder tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        if (IntxLines is not { Count: IntxPins })
        {
            throw new InvalidOperationException($"a PCI host bridge routes {IntxPins} INTx lines, not {IntxLines?.Count}");
        }

        if (tree.InterruptParent == 0)
        {
            throw new InvalidOperationException("the PCI host bridge's interrupt-map needs the interrupt controller declared first");
        }

        var ecam = Single(MemoryRegionKind.PciConfig) ?? throw new InvalidOperationException($"the {Layout.Map.Architecture} layout has no ECAM window");
        ulong buses = ecam.Size / PciEcam.BusSize;
        if (buses == 0 || ecam.Size > PciEcam.MaxWindowSize || ecam.Size % PciEcam.BusSize != 0)
        {
            throw new InvalidOperationException($"ECAM window {ecam} is not a whole number of 1 MiB buses up to 256");
        }

        tree.BeginNode(NodeName, ecam.Base);
        tree.Compatible(CompatibleString);
        tree.String("device_type", "pci");
        int parentAddressCells = tree.ParentAddressCells;
        tree.AddressCells(PciAddressCells);
        tree.SizeCells(PciSizeCells);
        tree.Cell("#interrupt-cells", PciInterruptCells);
        tree.Reg(ecam.Base, ecam.Size);
        tree.Cells("bus-range", 0, (uint)(buses - 1));
        tree.Cells("ranges", [.. Ranges(parentAddressCells)]);
        tree.Cells("interrupt-map", [.. InterruptMap(tree.InterruptParent, tree.InterruptParentAddressCells)]);
        tree.Cells("interrupt-map-mask", [.. InterruptMapMask]);

        // Config and BAR accesses trap to the VMM, and device DMA goes through the host's coherent mapping.
        tree.Empty("dma-coherent");
        tree.EndNode();
    }

    private MemoryMapRegion? Single(MemoryRegionKind kind) => Layout.Windows.SingleOrDefault(w => w.Kind == kind);

    /// <summary>I/O space at PCI address 0 (where the layout has it), then the memory windows identity-mapped.</summary>
    private List<uint> Ranges(int parentAddressCells)
    {
        var cells = new List<uint>();
        void Range(uint space, ulong pciAddress, MemoryMapRegion window)
        {
            cells.Add(space);
            DeviceTreeBuilder.AppendCells(cells, pciAddress, PciAddressCells - 1, "PCI address");
            DeviceTreeBuilder.AppendCells(cells, window.Base, parentAddressCells, "CPU address");
            DeviceTreeBuilder.AppendCells(cells, window.Size, PciSizeCells, "range size");
        }

        if (Single(MemoryRegionKind.PciIo) is { } io)
        {
            Range(IoSpace, 0, io);
        }

        var mmio = Single(MemoryRegionKind.PciMmio) ?? throw new InvalidOperationException($"the {Layout.Map.Architecture} layout has no PCI memory window");
        Range(Memory32Space, mmio.Base, mmio);
        if (Single(MemoryRegionKind.PciMmio64) is { } mmio64)
        {
            Range(Memory64Space | PrefetchableBit, mmio64.Base, mmio64);
        }

        return cells;
    }

    /// <summary>One entry per (device 0–3, pin 1–4): child address, pin, interrupt parent, parent unit address, GIC specifier.</summary>
    private List<uint> InterruptMap(uint interruptParent, int parentAddressCells)
    {
        var cells = new List<uint>();
        for (int device = 0; device < IntxPins; device++)
        {
            for (var pin = PciInterruptPin.IntA; pin <= PciInterruptPin.IntD; pin++)
            {
                cells.Add((uint)device << DeviceShift);
                cells.Add(0);
                cells.Add(0);
                cells.Add((uint)pin);
                cells.Add(interruptParent);
                DeviceTreeBuilder.AppendCells(cells, 0, parentAddressCells, "interrupt parent unit address");
                DeviceTreeBuilder.AppendInterrupt(cells, GicInterrupt.ForLine(IntxLines[PciIntxRouting.Swizzle(device, pin)], GicTrigger.LevelHigh));
            }
        }

        return cells;
    }
}
