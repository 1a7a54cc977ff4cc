using ActorVmm.Devices.DeviceTree;

namespace ActorVmm.Devices.Rtc;

/// <summary>
/// The device-tree node of the MC146818 on the MMIO bus (kvmtool's <c>generate_rtc_fdt_node</c>): Linux's
/// <c>rtc-cmos</c> binds <c>motorola,mc146818</c> and uses the index/data pair at <c>reg</c>, byte-wide and adjacent as
/// <see cref="RtcDevice"/> decodes them, and the interrupt for alarms and periodic ticks.
/// </summary>
/// <param name="Base">Guest-physical address of the index register (the data register follows it).</param>
/// <param name="Irq">The RTC's interrupt line (a backend GSI).</param>
public sealed record Mc146818DeviceTreeNode(ulong Base, int Irq) : IDescribesDeviceTree
{
    /// <summary>Generic node name for real-time clocks.</summary>
    public const string NodeName = "rtc";

    /// <summary>The binding of the MC146818 and compatibles.</summary>
    public const string CompatibleString = "motorola,mc146818";

    /// <summary>The RTC's interrupt: level, high while IRQF is set (a register C read lowers it).</summary>
    public GicInterrupt Interrupt => GicInterrupt.ForLine(Irq, GicTrigger.LevelHigh);

    /// <inheritdoc />
    public void Describe(DeviceTreeBuilder tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        tree.BeginNode(NodeName, Base);
        tree.Compatible(CompatibleString);
        tree.Reg(Base, Mc146818Rtc.PortCount);
        tree.Interrupts(Interrupt);
        tree.EndNode();
    }
}
