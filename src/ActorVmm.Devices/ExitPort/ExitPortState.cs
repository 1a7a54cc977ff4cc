namespace ActorVmm.Devices.ExitPort;

/// <summary>
/// The exit port's state: it has none (a write stops the VM, a read answers an empty bus), so every capture is
/// equal and a rebuild is a fresh device. The port is wiring, not state.
/// </summary>
public sealed record ExitPortState : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        // No fields: nothing can be out of range.
    }
}
