using ActorVmm.Devices.DeviceTree;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Platforms;
using ActorVmm.Machine.Layout;
using ActorVmm.TestSupport.DeviceTree;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ActorVmm.Devices.Tests.DeviceTree;

/// <summary>Random device sets: the tree read back describes every device once, inside its window, with nothing overlapping.</summary>
public sealed class Arm64DeviceTreePropertyTests
{
    private const int RootCells = Arm64DeviceTree.RootCells;
    private const int MaxCpus = 8;

    /// <summary>A VM: vCPUs, RAM in pages, virtio transports, PCI.</summary>
    public sealed record Machine(int Cpus, ulong Ram, int Virtio, bool Pci);

    private static readonly Gen<ulong> RamSizes = Gen.OneOf(
        Gen.Choose(1, 1 << 18).Select(pages => (ulong)pages * MemoryMap.PageSize),                                     // up to 1 GiB, page-sized
        Gen.Choose(1, (int)(Arm64MemoryMap.MaxRam / MemoryMap.PageSize)).Select(pages => (ulong)pages * MemoryMap.PageSize)); // anything the map takes

    private static readonly Gen<Machine> Machines =
        from cpus in Gen.Choose(1, MaxCpus)
        from ram in RamSizes
        from virtio in Gen.Choose(0, Arm64Platform.VirtioMmioIrqCount)
        from pci in Gen.Elements(true, false)
        select new Machine(cpus, ram, virtio, pci);

    [Property(MaxTest = 60)]
    public Property Every_device_has_one_node_inside_its_window_and_no_two_reg_ranges_overlap() =>
        Prop.ForAll(Machines.ToArbitrary(), machine =>
        {
            var options = Arm64Trees.Options(machine.Cpus, machine.Ram, machine.Virtio, machine.Pci);
            var layout = options.Layout;
            var root = FdtReader.Read(Arm64DeviceTree.Build(options)).Root;

            // Every root-level reg (the address space the CPUs see), and the parent side of the PCI ranges.
            var ranges = root.Children.Where(n => n.Has("reg")).SelectMany(n => n.Reg(RootCells, RootCells).Select(r => (Node: n.Name, r.Address, r.Size))).ToList();
            if (root.Children.FirstOrDefault(n => n.Name.StartsWith("pci@", StringComparison.Ordinal)) is { } pci)
            {
                uint[] cells = pci.Cells("ranges");
                for (int at = 0; at < cells.Length; at += 7)
                {
                    ranges.Add(($"{pci.Name} range", FdtNode.Join(cells, at + 3, 2), FdtNode.Join(cells, at + 5, 2)));
                }
            }

            foreach (var a in ranges)
            {
                foreach (var b in ranges)
                {
                    bool same = ReferenceEquals(a.Node, b.Node) && a.Address == b.Address;
                    bool overlap = a.Address < b.Address + b.Size && b.Address < a.Address + a.Size;
                    Assert.False(!same && overlap, $"{a.Node} 0x{a.Address:X}+0x{a.Size:X} overlaps {b.Node} 0x{b.Address:X}+0x{b.Size:X} for {machine}");
                }
            }

            // Each device of the set has exactly one node, at its place, inside its map window.
            var expected = new List<(string Window, ulong Base)>
            {
                (Arm64Platform.UartName, Arm64MemoryMap.UartBase),
                (Arm64Platform.RtcName, Arm64MemoryMap.RtcBase),
                (Arm64MemoryMap.GicDistributorName, Arm64MemoryMap.GicDistributorBase),
            };
            expected.AddRange(Arm64Trees.Transports(layout, machine.Virtio).Select(t => ("virtio-mmio", t.Base)));
            if (machine.Pci)
            {
                expected.Add(("pci-config", layout.Window("pci-config").Base));
            }

            foreach (var (windowName, address) in expected)
            {
                var window = layout.Window(windowName);
                var node = Assert.Single(root.Children, n => n.Has("reg") && n.Reg(RootCells, RootCells)[0].Address == address);
                Assert.EndsWith($"@{address:x}", node.Name, StringComparison.Ordinal);
                var reg = node.Reg(RootCells, RootCells)[0];
                Assert.True(window.Contains(reg.Address) && window.Contains(reg.Address + reg.Size - 1), $"{node.Name} is outside {window}");
            }

            Assert.Equal(machine.Cpus, root.Find("/cpus")!.Children.Count);
            Assert.Equal(
                layout.RamSlots.Select(s => (s.GuestPhysicalAddress, s.Size)),
                root.Children.Where(n => n.Name.StartsWith("memory@", StringComparison.Ordinal)).SelectMany(n => n.Reg(RootCells, RootCells)));
            Assert.Equal(machine.Pci, root.Children.Any(n => n.Has("device_type") && n.String("device_type") == "pci"));

            // No two devices share an SPI, and none takes a PCI INTx line.
            var spis = root.Children.Where(n => n.Has("interrupts") && n.Name != "timer")
                .SelectMany(n => n.Cells("interrupts").Chunk(3))
                .Select(spec => (GicInterruptType)spec[0] == GicInterruptType.Spi ? (int)spec[1] : throw new InvalidDataException($"a device with a PPI for {machine}"))
                .ToList();
            Assert.Equal(spis.Count, spis.Distinct().Count());
            Assert.Empty(spis.Intersect(Arm64Platform.PciIntxIrqs));
            Assert.Equal(2 + machine.Virtio, spis.Count);
        });

    [Property(MaxTest = 15)]
    public Property Random_device_sets_decompile_without_a_dtc_warning() =>
        Prop.ForAll(Machines.ToArbitrary(), machine =>
        {
            var result = Dtc.Decompile(Arm64DeviceTree.Build(Arm64Trees.Options(machine.Cpus, machine.Ram, machine.Virtio, machine.Pci, "console=ttyS0")));
            Assert.True(result.ExitCode == 0 && result.StderrLines.Count == 0, $"{machine}: {result.Stderr}");
        });

    [Fact]
    public void More_transports_than_interrupt_lines_are_refused()
    {
        var layout = MemoryMap.Arm64.Layout(Arm64Trees.MiB * 64);

        var ex = Assert.Throws<ArgumentException>(() => Arm64Trees.Transports(layout, Arm64Platform.VirtioMmioIrqCount + 1));
        Assert.Contains("do not fit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_bridge_refuses_anything_but_four_INTx_lines()
    {
        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();
        uint gic = tree.AllocatePhandle();
        tree.DeclareInterruptParent(gic, Arm64DeviceTree.GicAddressCells);

        var node = new PciEcamHostBridgeDeviceTreeNode(MemoryMap.Arm64.Layout(Arm64Trees.MiB * 64), [1, 2, 3]);
        Assert.Throws<InvalidOperationException>(() => node.Describe(tree));
    }
}
