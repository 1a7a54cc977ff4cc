namespace ActorVmm.Devices.Vfio;

/// <summary>Slow-path commands of a passed-through device, handled on its actor.</summary>
public static class VfioPciProtocol
{
    /// <summary>Function-level reset: VFIO_DEVICE_RESET, then the virtual function back to power-on (BARs unplaced, interrupts off).</summary>
    public sealed record ResetDevice;

    /// <summary>The reply to <see cref="ResetDevice"/>.</summary>
    /// <param name="DeviceReset">True when the host device was reset too (it supports VFIO_DEVICE_RESET).</param>
    public sealed record ResetDone(bool DeviceReset);
}
