using ActorVmm.Devices.Pci;

namespace ActorVmm.Devices.Framebuffer;

/// <summary>
/// The framebuffer's guest-visible registers: its PCI function (where the guest put the BAR, whether memory decode is
/// on). The pixels are not part of it: they live in the VM's device RAM, which outlives the device's incarnations.
/// </summary>
/// <param name="Function">The PCI function's state.</param>
public sealed record FramebufferState(PciFunctionState Function) : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        Require(Function is not null, "the PCI function state is missing");
        Function!.Validate();
    }
}
