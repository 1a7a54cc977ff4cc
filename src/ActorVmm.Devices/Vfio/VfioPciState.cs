using ActorVmm.Devices.Pci;

namespace ActorVmm.Devices.Vfio;

/// <summary>The guest-visible state of a passed-through function: its virtual configuration space and MSI-X table (the device's own registers live in the device).</summary>
/// <param name="Function">The PCI function's state.</param>
public sealed record VfioPciState(PciFunctionState Function) : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        if (Function is null)
        {
            throw new DeviceStateException($"{nameof(VfioPciState)}: no PCI function state");
        }

        Function.Validate();
    }
}
