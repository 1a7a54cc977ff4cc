using ActorVmm.Devices.DeviceTree;
using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Devices.Platforms;

/// <summary>
/// The flattened device tree of an arm64 VM (kvmtool's <c>arm/fdt.c</c>, QEMU's <c>virt</c> board): the root
/// (<c>linux,dummy-virt</c>, 64-bit addresses and sizes, the GIC as interrupt parent), the CPUs with PSCI, the
/// architected timer, the GICv3, one <c>memory</c> node per RAM slot of the layout, the platform's devices and any
/// added ones (each writing its own node), the PCI host bridge when the VM has PCI, <c>aliases</c> and <c>chosen</c>
/// (<c>bootargs</c> when there is a command line, <c>stdout-path</c> naming the console UART).
/// </summary>
public static class Arm64DeviceTree
{
    /// <summary>The root's compatible: a generic virtual machine that is described entirely by its tree.</summary>
    public const string MachineCompatible = "linux,dummy-virt";

    /// <summary>Root <c>#address-cells</c> and <c>#size-cells</c>: 64-bit addresses and sizes.</summary>
    public const int RootCells = 2;

    /// <summary>CPU compatible for any ARMv8 CPU (the guest reads the real MIDR).</summary>
    public const string CpuCompatible = "arm,arm-v8";

    /// <summary>CPUs are brought up through PSCI CPU_ON.</summary>
    public const string CpuEnableMethod = "psci";

    /// <summary>PSCI 0.2 and later (function IDs are the standard ones).</summary>
    public const string PsciCompatible = "arm,psci-0.2";

    /// <summary>PSCI calls are HVC: KVM handles them at EL2.</summary>
    public const string PsciMethod = "hvc";

    /// <summary>The ARMv8 generic timer.</summary>
    public const string TimerCompatible = "arm,armv8-timer";

    /// <summary>The GICv3 binding.</summary>
    public const string GicCompatible = "arm,gic-v3";

    /// <summary>GIC specifiers are three cells: type, number, flags.</summary>
    public const int GicInterruptCells = 3;

    /// <summary>
    /// The GIC node's <c>#address-cells</c>: the parent unit address of <c>interrupt-map</c> entries (as kvmtool and QEMU
    /// write it; dtc wants an interrupt provider to state it).
    /// </summary>
    public const int GicAddressCells = 2;

    /// <summary>Secure physical timer PPI (INTID 29).</summary>
    public const uint SecurePhysicalTimerPpi = 13;

    /// <summary>Non-secure physical timer PPI (INTID 30).</summary>
    public const uint PhysicalTimerPpi = 14;

    /// <summary>Virtual timer PPI (INTID 27), the one a KVM guest uses.</summary>
    public const uint VirtualTimerPpi = 11;

    /// <summary>Hypervisor timer PPI (INTID 26).</summary>
    public const uint HypervisorTimerPpi = 10;

    /// <summary>The boot CPU's <c>reg</c> (MPIDR of vCPU 0).</summary>
    public const uint BootCpuId = 0;

    /// <summary>Writes the DTB of a VM.</summary>
    /// <exception cref="ArgumentException">The layout is not an arm64 one, or the CPU count is out of range.</exception>
    public static byte[] Build(Arm64DeviceTreeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var layout = options.Layout;
        if (layout.Map is not Arm64MemoryMap)
        {
            throw new ArgumentException($"an arm64 device tree needs the arm64 layout, not {layout.Map.Architecture}", nameof(options));
        }

        if (options.Cpus is < 1 or > VmSpec.MaxVcpus)
        {
            throw new ArgumentException($"a VM has between 1 and {VmSpec.MaxVcpus} vCPUs, not {options.Cpus}", nameof(options));
        }

        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();
        uint gic = tree.AllocatePhandle();
        tree.Compatible(MachineCompatible);
        tree.AddressCells(RootCells);
        tree.SizeCells(RootCells);
        tree.Cell("interrupt-parent", gic);

        WriteCpus(tree, options.Cpus);
        WritePsci(tree);
        WriteTimer(tree);
        WriteGic(tree, gic, options.Cpus);
        foreach (var slot in layout.RamSlots)
        {
            tree.BeginNode("memory", slot.GuestPhysicalAddress);
            tree.String("device_type", "memory");
            tree.Reg(slot.GuestPhysicalAddress, slot.Size);
            tree.EndNode();
        }

        foreach (var device in Arm64Platform.Devices(layout).Select(d => d.DeviceTree).OfType<IDescribesDeviceTree>().Concat(options.Devices))
        {
            device.Describe(tree);
        }

        if (options.Pci)
        {
            new PciEcamHostBridgeDeviceTreeNode(layout, Arm64Platform.PciIntxIrqs).Describe(tree);
        }

        WriteAliases(tree);
        tree.BeginNode("chosen");
        if (options.Bootargs.Length > 0)
        {
            tree.String("bootargs", options.Bootargs);
        }

        if (tree.StdoutPath is { } console)
        {
            tree.String("stdout-path", console);
        }

        tree.EndNode();
        tree.EndNode();
        return tree.Finish(BootCpuId);
    }

    /// <summary>
    /// The MPIDR affinity KVM gives vCPU <paramref name="vcpu"/> at reset (<c>reset_mpidr</c>: 16 vCPUs per Aff0 cluster,
    /// then Aff1, then Aff2), which is what a CPU node's <c>reg</c> must match.
    /// </summary>
    public static uint Mpidr(int vcpu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vcpu);
        uint id = (uint)vcpu;
        return (id & 0xF) | (((id >> 4) & 0xFF) << 8) | (((id >> 12) & 0xFF) << 16);
    }

    private static void WriteCpus(DeviceTreeBuilder tree, int cpus)
    {
        tree.BeginNode("cpus");

        // reg is the MPIDR affinity (Aff2..Aff0 fit one cell below 4096 vCPUs); CPUs have no size.
        tree.AddressCells(1);
        tree.SizeCells(0);
        for (int i = 0; i < cpus; i++)
        {
            uint mpidr = Mpidr(i);
            tree.BeginNode("cpu", mpidr);
            tree.String("device_type", "cpu");
            tree.Compatible(CpuCompatible);
            tree.String("enable-method", CpuEnableMethod);
            tree.Reg(mpidr, 0);
            tree.EndNode();
        }

        tree.EndNode();
    }

    private static void WritePsci(DeviceTreeBuilder tree)
    {
        tree.BeginNode("psci");
        tree.Compatible(PsciCompatible);
        tree.String("method", PsciMethod);
        tree.EndNode();
    }

    private static void WriteTimer(DeviceTreeBuilder tree)
    {
        tree.BeginNode("timer");
        tree.Compatible(TimerCompatible);

        // The binding's order; level-high as QEMU declares them on a GICv3 (no CPU mask: GICv3 specifiers have none).
        tree.Interrupts(
            GicInterrupt.Ppi(SecurePhysicalTimerPpi, GicTrigger.LevelHigh),
            GicInterrupt.Ppi(PhysicalTimerPpi, GicTrigger.LevelHigh),
            GicInterrupt.Ppi(VirtualTimerPpi, GicTrigger.LevelHigh),
            GicInterrupt.Ppi(HypervisorTimerPpi, GicTrigger.LevelHigh));

        // The timer keeps counting in every power state a KVM guest can enter.
        tree.Empty("always-on");
        tree.EndNode();
    }

    private static void WriteGic(DeviceTreeBuilder tree, uint phandle, int cpus)
    {
        var (redistributors, redistributorsSize) = Arm64MemoryMap.GicRedistributors(cpus);
        tree.BeginNode("intc", Arm64MemoryMap.GicDistributorBase);
        tree.Compatible(GicCompatible);
        tree.Cell("#interrupt-cells", GicInterruptCells);
        tree.Empty("interrupt-controller");
        tree.Reg((Arm64MemoryMap.GicDistributorBase, Arm64MemoryMap.GicDistributorSize), (redistributors, redistributorsSize));
        tree.AddressCells(GicAddressCells);
        tree.SizeCells(RootCells);
        tree.Phandle(phandle);
        tree.DeclareInterruptParent(phandle, GicAddressCells);
        tree.EndNode();
    }

    private static void WriteAliases(DeviceTreeBuilder tree)
    {
        if (tree.Aliases.Count == 0)
        {
            return;
        }

        var aliases = tree.Aliases.ToList();
        tree.BeginNode("aliases");
        foreach (var (alias, path) in aliases)
        {
            tree.String(alias, path);
        }

        tree.EndNode();
    }
}
