namespace ActorVmm.Devices;

/// <summary>
/// A device that receives host console input (a UART's receiver). Input bytes wait in
/// <see cref="DeviceContext.Input"/>, outside the instance; the device takes them when the guest
/// reads its data register and uses the queue's state for its status bits; or, with a receive FIFO
/// of its own, takes only what fits and posts <see cref="DeviceSignals.InputSpaceAvailable"/> to
/// its actor when the guest has drained it (<see cref="Serial.SerialConsoleDevice"/>). The queue is bounded:
/// host input beyond it waits in the device actor until the guest has read enough, so a device that takes
/// bytes from the queue itself posts <see cref="DeviceSignals.InputSpaceAvailable"/> after it did, to let more in.
/// </summary>
public interface IConsoleInputDevice
{
    /// <summary>
    /// Called on the device's actor after bytes were added to <see cref="DeviceContext.Input"/>, and
    /// on a fresh instance when bytes are already waiting: update status and raise the interrupt.
    /// </summary>
    void OnInputAvailable();
}
