namespace ActorVmm.Devices.DeviceTree;

/// <summary>
/// A device that describes itself to the guest in a device tree (kvmtool's per-device <c>generate_fdt_node</c>):
/// it writes its node(s) — <c>name@unit-address</c>, <c>compatible</c>, <c>reg</c> on its parent's bus, interrupts and
/// whatever else its binding asks for — at the builder's current position, which is the root on arm64 machines.
/// </summary>
public interface IDescribesDeviceTree
{
    /// <summary>Writes the device's node(s), each begun and ended here.</summary>
    void Describe(DeviceTreeBuilder tree);
}
