namespace ActorVmm.Devices.Pci;

/// <summary>The host bridge device's own guest-visible state: the CONFIG_ADDRESS latch at 0xCF8 (functions keep theirs).</summary>
/// <param name="ConfigAddress">The last dword written to 0xCF8.</param>
public sealed record PciHostBridgeState(uint ConfigAddress) : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        // Every 32-bit value is one CONFIG_ADDRESS holds and reads back: nothing to reject.
    }
}
