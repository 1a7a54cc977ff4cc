using ActorVmm.Devices.DeviceTree;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Devices.Virtio.Mmio;

/// <summary>
/// The device-tree node of one virtio-mmio transport (kvmtool's <c>generate_virtio_mmio_fdt_node</c>): Linux's
/// <c>virtio_mmio</c> driver binds <c>virtio,mmio</c>, reads the device type from the window itself, and takes the
/// transport's interrupt, which it signals on edges (a used-buffer or configuration notification).
/// </summary>
/// <param name="Base">Guest-physical base of the transport's register window.</param>
/// <param name="Size">Window size (<see cref="TransportSize"/> for the transports placed here).</param>
/// <param name="Irq">The transport's interrupt line (a backend GSI).</param>
public sealed record VirtioMmioDeviceTreeNode(ulong Base, ulong Size, int Irq) : IDescribesDeviceTree
{
    /// <summary>Node name (kvmtool's; the specification has no generic name for virtio).</summary>
    public const string NodeName = "virtio";

    /// <summary>The virtio-mmio binding.</summary>
    public const string CompatibleString = "virtio,mmio";

    /// <summary>Bytes per transport window: registers up to 0x100, device configuration up to 0x200 (kvmtool, Linux).</summary>
    public const ulong TransportSize = 0x200;

    /// <summary>The transport's interrupt: rising edge, as kvmtool declares it.</summary>
    public GicInterrupt Interrupt => GicInterrupt.ForLine(Irq, GicTrigger.EdgeRising);

    /// <summary>
    /// Nodes for <paramref name="count"/> transports placed one after another from the start of <paramref name="window"/>,
    /// the i-th with interrupt line <paramref name="irqs"/>[i]. SEAM: the virtio-mmio transport's allocator hands out
    /// the same places; once it is merged its slots give these nodes and this placement goes.
    /// </summary>
    /// <exception cref="ArgumentException">More transports than the window or the interrupt lines hold.</exception>
    public static IReadOnlyList<VirtioMmioDeviceTreeNode> Place(MemoryMapRegion window, IReadOnlyList<int> irqs, int count)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(irqs);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int capacity = (int)Math.Min((ulong)irqs.Count, window.Size / TransportSize);
        if (count > capacity)
        {
            throw new ArgumentException($"{count} virtio-mmio transports do not fit: {window} with {irqs.Count} interrupt lines holds {capacity}");
        }

        return [.. Enumerable.Range(0, count).Select(i => new VirtioMmioDeviceTreeNode(window.Base + ((ulong)i * TransportSize), TransportSize, irqs[i]))];
    }

    /// <inheritdoc />
    public void Describe(DeviceTreeBuilder tree)
    {
        ArgumentNullException.ThrowIfNull(tree);
        tree.BeginNode(NodeName, Base);
        tree.Compatible(CompatibleString);
        tree.Reg(Base, Size);
        tree.Interrupts(Interrupt);

        // The transport reads and writes guest RAM through the host's coherent mapping: no cache maintenance needed.
        tree.Empty("dma-coherent");
        tree.EndNode();
    }
}
