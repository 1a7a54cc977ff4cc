using ActorVmm.Devices.DeviceTree;
using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Rtc;
using ActorVmm.Devices.Serial;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestSupport.DeviceTree;

namespace ActorVmm.Devices.Tests.DeviceTree;

/// <summary>The arm64 tree read back: each node where the memory map puts its device, with the right interrupts.</summary>
public sealed class Arm64DeviceTreeTests
{
    private const int Cpus = 2;
    private const ulong Ram = 256 * Arm64Trees.MiB;
    private const int RootCells = Arm64DeviceTree.RootCells;

    private static readonly MemoryLayout Layout = MemoryMap.Arm64.Layout(Ram);

    private static FdtNode Read(Arm64DeviceTreeOptions options) => FdtReader.Read(Arm64DeviceTree.Build(options)).Root;

    private static FdtNode Node(FdtNode root, string path) => root.Find(path) ?? throw new Xunit.Sdk.XunitException($"no node {path}");

    private static uint[] Specifier(GicInterrupt irq) => [(uint)irq.Type, irq.Number, (uint)irq.Trigger];

    private static void AssertInside(MemoryMapRegion window, (ulong Address, ulong Size) reg) =>
        Assert.True(reg.Size > 0 && window.Contains(reg.Address) && window.Contains(reg.Address + reg.Size - 1), $"0x{reg.Address:X}+0x{reg.Size:X} is not inside {window}");

    [Fact]
    public void Root_is_a_dummy_virt_machine_with_64_bit_cells_and_the_GIC_as_interrupt_parent()
    {
        var root = Read(Arm64Trees.Options(Cpus, Ram));

        Assert.Equal([Arm64DeviceTree.MachineCompatible], root.Strings("compatible"));
        Assert.Equal([2u], root.Cells("#address-cells"));
        Assert.Equal([2u], root.Cells("#size-cells"));
        uint parent = Assert.Single(root.Cells("interrupt-parent"));
        var gic = Assert.Single(root.Descendants(), n => n.Has("phandle") && n.Cells("phandle")[0] == parent);
        Assert.True(gic.Has("interrupt-controller"));
    }

    [Fact]
    public void Each_cpu_has_a_psci_node_with_its_KVM_MPIDR_as_reg()
    {
        const int ManyCpus = 20;
        var root = Read(Arm64Trees.Options(ManyCpus, Ram));
        var cpus = Node(root, "/cpus");

        Assert.Equal([1u], cpus.Cells("#address-cells"));
        Assert.Equal([0u], cpus.Cells("#size-cells"));
        Assert.Equal(ManyCpus, cpus.Children.Count);

        // KVM's reset MPIDR: 16 vCPUs per Aff0 cluster, so vCPU 16 is Aff1 = 1, Aff0 = 0.
        Assert.Equal(0x100u, Arm64DeviceTree.Mpidr(16));
        for (int i = 0; i < ManyCpus; i++)
        {
            uint mpidr = Arm64DeviceTree.Mpidr(i);
            var cpu = Node(cpus, $"cpu@{mpidr:x}");
            Assert.Equal([mpidr], cpu.Cells("reg"));
            Assert.Equal("cpu", cpu.String("device_type"));
            Assert.Equal([Arm64DeviceTree.CpuCompatible], cpu.Strings("compatible"));
            Assert.Equal(Arm64DeviceTree.CpuEnableMethod, cpu.String("enable-method"));
        }

        var psci = Node(root, "/psci");
        Assert.Equal([Arm64DeviceTree.PsciCompatible], psci.Strings("compatible"));
        Assert.Equal(Arm64DeviceTree.PsciMethod, psci.String("method"));
    }

    [Fact]
    public void Timer_lists_the_four_architected_timer_PPIs_in_binding_order()
    {
        var timer = Node(Read(Arm64Trees.Options(Cpus, Ram)), "/timer");

        Assert.Equal([Arm64DeviceTree.TimerCompatible], timer.Strings("compatible"));
        uint[] expected =
        [
            .. Specifier(GicInterrupt.Ppi(Arm64DeviceTree.SecurePhysicalTimerPpi, GicTrigger.LevelHigh)),
            .. Specifier(GicInterrupt.Ppi(Arm64DeviceTree.PhysicalTimerPpi, GicTrigger.LevelHigh)),
            .. Specifier(GicInterrupt.Ppi(Arm64DeviceTree.VirtualTimerPpi, GicTrigger.LevelHigh)),
            .. Specifier(GicInterrupt.Ppi(Arm64DeviceTree.HypervisorTimerPpi, GicTrigger.LevelHigh)),
        ];
        Assert.Equal(expected, timer.Cells("interrupts"));
        Assert.Equal(27u, GicInterrupt.Ppi(Arm64DeviceTree.VirtualTimerPpi, GicTrigger.LevelHigh).IntId);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(VmSpec.MaxVcpus)]
    public void GICv3_reg_is_the_distributor_and_one_redistributor_per_cpu_ending_at_the_distributor(int cpus)
    {
        var root = Read(Arm64Trees.Options(cpus, Ram));
        var distributor = Layout.Window(Arm64MemoryMap.GicDistributorName);
        var redistributors = Layout.Window(Arm64MemoryMap.GicRedistributorsName);
        var gic = Node(root, $"/intc@{distributor.Base:x}");

        Assert.Equal([Arm64DeviceTree.GicCompatible], gic.Strings("compatible"));
        Assert.Equal([3u], gic.Cells("#interrupt-cells"));
        Assert.True(gic.Has("interrupt-controller"));
        var reg = gic.Reg(RootCells, RootCells);
        Assert.Equal(2, reg.Length);
        Assert.Equal((distributor.Base, distributor.Size), reg[0]);
        Assert.Equal((ulong)cpus * Arm64MemoryMap.GicRedistributorSize, reg[1].Size);
        Assert.Equal(distributor.Base, reg[1].Address + reg[1].Size);
        AssertInside(redistributors, reg[1]);
    }

    [Fact]
    public void Memory_nodes_are_the_layout_RAM_slots()
    {
        var root = Read(Arm64Trees.Options(Cpus, Ram));

        var memory = root.Children.Where(n => n.Has("device_type") && n.String("device_type") == "memory").ToList();
        Assert.Equal(Layout.RamSlots.Select(s => $"memory@{s.GuestPhysicalAddress:x}"), memory.Select(n => n.Name));
        Assert.Equal(Layout.RamSlots.Select(s => (s.GuestPhysicalAddress, s.Size)), memory.SelectMany(n => n.Reg(RootCells, RootCells)));
    }

    [Fact]
    public void UART_is_an_ns16550a_at_the_map_uart_window_with_byte_registers_and_its_SPI()
    {
        var root = Read(Arm64Trees.Options(Cpus, Ram));
        var window = Layout.Window(Arm64Platform.UartName);
        var uart = Node(root, $"/{Uart16550DeviceTreeNode.NodeName}@{window.Base:x}");

        Assert.Equal(["ns16550a"], uart.Strings("compatible"));
        var reg = Assert.Single(uart.Reg(RootCells, RootCells));
        Assert.Equal((window.Base, (ulong)Uart16550Registers.RegisterCount), reg);
        AssertInside(window, reg);
        Assert.Equal([Uart16550DeviceTreeNode.ClockFrequency], uart.Cells("clock-frequency"));
        Assert.Equal([0u], uart.Cells("reg-shift"));
        Assert.Equal([1u], uart.Cells("reg-io-width"));
        Assert.Equal(Specifier(GicInterrupt.ForLine(Arm64Platform.UartIrq, GicTrigger.LevelHigh)), uart.Cells("interrupts"));
    }

    [Fact]
    public void RTC_is_a_motorola_mc146818_at_the_map_rtc_window_with_its_SPI()
    {
        var root = Read(Arm64Trees.Options(Cpus, Ram));
        var window = Layout.Window(Arm64Platform.RtcName);
        var rtc = Node(root, $"/{Mc146818DeviceTreeNode.NodeName}@{window.Base:x}");

        Assert.Equal(["motorola,mc146818"], rtc.Strings("compatible"));
        var reg = Assert.Single(rtc.Reg(RootCells, RootCells));
        Assert.Equal((window.Base, (ulong)Mc146818Rtc.PortCount), reg);
        AssertInside(window, reg);
        Assert.Equal(Specifier(GicInterrupt.ForLine(Arm64Platform.RtcIrq, GicTrigger.LevelHigh)), rtc.Cells("interrupts"));
    }

    [Fact]
    public void Virtio_transports_follow_each_other_in_the_virtio_mmio_window_with_their_own_edge_SPIs()
    {
        const int Transports = 3;
        var root = Read(Arm64Trees.Options(Cpus, Ram, Transports));
        var window = Layout.Window("virtio-mmio");

        var nodes = root.Children.Where(n => n.Has("compatible") && n.Strings("compatible").Contains(VirtioMmioDeviceTreeNode.CompatibleString)).ToList();
        Assert.Equal(Transports, nodes.Count);
        for (int i = 0; i < Transports; i++)
        {
            ulong expectedBase = window.Base + ((ulong)i * VirtioMmioDeviceTreeNode.TransportSize);
            Assert.Equal($"virtio@{expectedBase:x}", nodes[i].Name);
            var reg = Assert.Single(nodes[i].Reg(RootCells, RootCells));
            Assert.Equal((expectedBase, VirtioMmioDeviceTreeNode.TransportSize), reg);
            AssertInside(window, reg);
            Assert.Equal(Specifier(GicInterrupt.ForLine(Arm64Platform.VirtioMmioIrqs[i], GicTrigger.EdgeRising)), nodes[i].Cells("interrupts"));
            Assert.True(nodes[i].Has("dma-coherent"));
        }
    }

    [Fact]
    public void Chosen_has_the_command_line_and_stdout_path_names_the_console_UART_which_is_serial0()
    {
        const string Bootargs = "console=ttyS0 earlycon root=/dev/vda";
        var root = Read(Arm64Trees.Options(Cpus, Ram, bootargs: Bootargs));
        var chosen = Node(root, "/chosen");

        Assert.Equal(Bootargs, chosen.String("bootargs"));
        string stdout = chosen.String("stdout-path");
        var uart = Node(root, stdout);
        Assert.Equal([Uart16550DeviceTreeNode.CompatibleString], uart.Strings("compatible"));
        Assert.Equal(stdout, Node(root, "/aliases").String("serial0"));
    }

    [Fact]
    public void Without_a_command_line_chosen_has_no_bootargs()
    {
        var chosen = Node(Read(Arm64Trees.Options(Cpus, Ram)), "/chosen");

        Assert.False(chosen.Has("bootargs"));
        Assert.True(chosen.Has("stdout-path"));
    }

    [Fact]
    public void PCI_host_bridge_appears_only_when_PCI_is_configured()
    {
        var ecam = Layout.Window("pci-config");

        Assert.Null(Read(Arm64Trees.Options(Cpus, Ram)).Find($"/pci@{ecam.Base:x}"));
        Assert.NotNull(Read(Arm64Trees.Options(Cpus, Ram, pci: true)).Find($"/pci@{ecam.Base:x}"));
    }

    [Fact]
    public void PCI_host_bridge_covers_the_ECAM_window_and_maps_the_IO_and_memory_windows()
    {
        var root = Read(Arm64Trees.Options(Cpus, Ram, pci: true));
        var ecam = Layout.Window("pci-config");
        var pci = Node(root, $"/pci@{ecam.Base:x}");

        Assert.Equal([PciEcamHostBridgeDeviceTreeNode.CompatibleString], pci.Strings("compatible"));
        Assert.Equal("pci", pci.String("device_type"));
        Assert.Equal([3u], pci.Cells("#address-cells"));
        Assert.Equal([2u], pci.Cells("#size-cells"));
        Assert.Equal([1u], pci.Cells("#interrupt-cells"));
        Assert.Equal([(ecam.Base, ecam.Size)], pci.Reg(RootCells, RootCells));
        Assert.Equal([0u, (uint)(ecam.Size / PciEcam.BusSize) - 1], pci.Cells("bus-range"));

        // Each range: phys.hi, PCI address (2 cells), CPU address (root's 2), size (2).
        uint[] ranges = pci.Cells("ranges");
        const int Stride = 7;
        Assert.Equal(0, ranges.Length % Stride);
        var decoded = Enumerable.Range(0, ranges.Length / Stride)
            .Select(i => (Space: ranges[i * Stride], Pci: FdtNode.Join(ranges, (i * Stride) + 1, 2), Cpu: FdtNode.Join(ranges, (i * Stride) + 3, 2), Size: FdtNode.Join(ranges, (i * Stride) + 5, 2)))
            .ToList();
        var io = Layout.Window("pci-io");
        var mmio = Layout.Window("pci-mmio");
        Assert.Equal(
            [(PciEcamHostBridgeDeviceTreeNode.IoSpace, 0UL, io.Base, io.Size), (PciEcamHostBridgeDeviceTreeNode.Memory32Space, mmio.Base, mmio.Base, mmio.Size)],
            decoded);
    }

    [Fact]
    public void PCI_interrupt_map_swizzles_the_four_pins_of_each_device_over_the_four_INTx_SPIs()
    {
        var root = Read(Arm64Trees.Options(Cpus, Ram, pci: true));
        var pci = Node(root, $"/pci@{Layout.Window("pci-config").Base:x}");
        uint gic = root.Cells("interrupt-parent")[0];

        Assert.Equal([0x1800u, 0, 0, 7], pci.Cells("interrupt-map-mask"));

        // Entry: child address (3), pin (1), parent phandle (1), parent unit address (GIC #address-cells = 2), GIC specifier (3).
        uint[] map = pci.Cells("interrupt-map");
        const int Stride = 3 + 1 + 1 + Arm64DeviceTree.GicAddressCells + 3;
        Assert.Equal(4 * 4 * Stride, map.Length);
        var seen = new HashSet<(int Device, int Pin)>();
        for (int at = 0; at < map.Length; at += Stride)
        {
            int device = (int)(map[at] >> PciEcamHostBridgeDeviceTreeNode.DeviceShift);
            int pin = (int)map[at + 3];
            Assert.True(seen.Add((device, pin)));
            Assert.Equal(gic, map[at + 4]);
            Assert.Equal([0u, 0u], map[(at + 5)..(at + 7)]);

            // INTA of device 0 is the first line; each device and each pin moves one line on.
            int expectedLine = Arm64Platform.PciIntxIrqs[(pin - 1 + device) % 4];
            Assert.Equal(Specifier(GicInterrupt.ForLine(expectedLine, GicTrigger.LevelHigh)), map[(at + 7)..(at + 10)]);
        }

        Assert.Equal(16, seen.Count);
        Assert.All(seen, s => Assert.InRange(s.Device, 0, 3));
        Assert.All(seen, s => Assert.InRange(s.Pin, 1, 4));
    }

    [Fact]
    public void Decompiled_example_names_every_node_at_its_map_address()
    {
        var result = Dtc.Decompile(Arm64DeviceTree.Build(Arm64Trees.Options(Cpus, Ram, 1)));

        Assert.Empty(result.StderrLines);
        string[] expectedLines =
        [
            $"serial@{Arm64MemoryMap.UartBase:x} {{",
            $"rtc@{Arm64MemoryMap.RtcBase:x} {{",
            $"virtio@{Arm64MemoryMap.VirtioMmioBase:x} {{",
            $"intc@{Arm64MemoryMap.GicDistributorBase:x} {{",
            $"memory@{Arm64MemoryMap.RamBase:x} {{",
            $"reg = <0x00 0x{Arm64MemoryMap.UartBase:x} 0x00 0x08>;",
            $"reg = <0x00 0x{Arm64MemoryMap.RamBase:x} 0x00 0x{Ram:x}>;",
            $"stdout-path = \"/serial@{Arm64MemoryMap.UartBase:x}\";",
        ];
        var lines = result.Stdout.Split('\n').Select(l => l.Trim()).ToHashSet();
        Assert.All(expectedLines, line => Assert.Contains(line, lines));
    }

    [Fact]
    public void A_layout_of_another_architecture_or_a_bad_cpu_count_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Arm64DeviceTree.Build(new Arm64DeviceTreeOptions(MemoryMap.X86.Layout(Ram), 1)));
        Assert.Throws<ArgumentException>(() => Arm64DeviceTree.Build(Arm64Trees.Options(1, Ram) with { Cpus = 0 }));
        Assert.Throws<ArgumentException>(() => Arm64DeviceTree.Build(Arm64Trees.Options(1, Ram) with { Cpus = VmSpec.MaxVcpus + 1 }));
    }

    [Fact]
    public void The_platform_definitions_carry_the_nodes_the_tree_is_built_from()
    {
        var definitions = Arm64Platform.Devices(Layout);

        Assert.Equal([Arm64Platform.UartName, Arm64Platform.RtcName], definitions.Select(d => d.Name));
        Assert.IsType<Uart16550DeviceTreeNode>(definitions[0].DeviceTree);
        Assert.IsType<Mc146818DeviceTreeNode>(definitions[1].DeviceTree);
    }
}
