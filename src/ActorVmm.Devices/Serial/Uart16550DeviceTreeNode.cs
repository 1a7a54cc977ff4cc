using ActorVmm.Devices.DeviceTree;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Serial;

/// <summary>
/// The device-tree node of a 16550A on the MMIO bus (kvmtool's <c>serial8250_generate_fdt_node</c>): Linux's
/// <c>of_serial</c> driver binds <c>ns16550a</c>, and its earlycon reaches the same UART through <c>stdout-path</c>.
/// The registers are bytes at consecutive addresses, the way <see cref="SerialDevice"/> decodes them on MMIO.
/// </summary>
/// <param name="Spec">The UART's placement; it must be on the MMIO bus (a port-I/O UART has no node on a DT machine).</param>
/// <param name="IsConsole">True for the VM console: the node becomes <c>/chosen/stdout-path</c>.</param>
public sealed record Uart16550DeviceTreeNode(SerialPortSpec Spec, bool IsConsole) : IDescribesDeviceTree
{
    /// <summary>Generic node name for UARTs (Devicetree Specification §2.2.2).</summary>
    public const string NodeName = "serial";

    /// <summary>The binding Linux's 8250 OF driver matches for a 16550A with working FIFOs.</summary>
    public const string CompatibleString = "ns16550a";

    /// <summary>Input clock: the PC's 1.8432 MHz crystal, so divisor 1 is 115200 baud as on x86.</summary>
    public const uint ClockFrequency = 1_843_200;

    /// <summary><c>reg-shift</c>: registers 1 byte apart (offset = register index).</summary>
    public const uint RegShift = 0;

    /// <summary><c>reg-io-width</c>: registers are accessed as single bytes.</summary>
    public const uint RegIoWidth = 1;

    /// <summary>Alias stem: the UART is <c>serial0</c>, <c>serial1</c>, ... (Linux numbers ttyS by it).</summary>
    public const string AliasStem = "serial";

    /// <summary>The UART's interrupt: level, high while the UART has a reason to interrupt.</summary>
    public GicInterrupt Interrupt => GicInterrupt.ForLine(Spec.Irq, GicTrigger.LevelHigh);

    /// <inheritdoc />
    public void Describe(DeviceTreeBuilder tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        if (Spec.Bus != TrapBus.Mmio)
        {
            throw new InvalidOperationException($"UART '{Spec.Name}' is on the port bus: only an MMIO UART has a device-tree node");
        }

        tree.BeginNode(NodeName, Spec.Base);
        tree.Compatible(CompatibleString);
        tree.Reg(Spec.Base, Uart16550Registers.RegisterCount);
        tree.Cell("clock-frequency", ClockFrequency);
        tree.Cell("reg-shift", RegShift);
        tree.Cell("reg-io-width", RegIoWidth);
        tree.Interrupts(Interrupt);
        tree.AddAlias(AliasStem);
        if (IsConsole)
        {
            tree.ChooseAsStdout();
        }

        tree.EndNode();
    }
}
