namespace ActorVmm.Devices.Legacy;

/// <summary>
/// The legacy ports' guest-visible state: system control port A and the POST latch. Every byte is a value both
/// can hold, so there is nothing to reject. The port map, the VM start time and the last boot-time probe are host
/// configuration and diagnostics, not state.
/// </summary>
/// <param name="SystemControlA">Port 0x92 as last written (A20 and fast-reset bits).</param>
/// <param name="LastPostCode">The last POST code written to port 0x80, or null (reads return an empty bus).</param>
public sealed record LegacyPortsState(byte SystemControlA, byte? LastPostCode) : DeviceState
{
    /// <inheritdoc />
    public override void Validate()
    {
        // Both registers latch whole bytes: every value is one they can hold.
    }
}
