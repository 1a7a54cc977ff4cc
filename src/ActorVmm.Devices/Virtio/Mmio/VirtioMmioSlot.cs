namespace ActorVmm.Devices.Virtio.Mmio;

/// <summary>Where one virtio-mmio transport sits: its register window and interrupt line.</summary>
/// <param name="Base">Guest-physical base of the window.</param>
/// <param name="Size">Window size (<see cref="VirtioMmioRegisters.WindowSize"/>).</param>
/// <param name="Irq">The interrupt line (GSI) the transport raises.</param>
public sealed record VirtioMmioSlot(ulong Base, ulong Size, int Irq)
{
    /// <summary>
    /// The Linux kernel parameter that announces the transport on a machine without a device tree
    /// (<c>virtio_mmio.device=&lt;size&gt;@&lt;base&gt;:&lt;irq&gt;</c>, CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
    /// </summary>
    public string KernelParameter => $"virtio_mmio.device={Size}@0x{Base:x}:{Irq}";
}
