using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Serial;

/// <summary>
/// A 16550A UART wired as a VM console: transmitted bytes go to the VM's console output, host input
/// waits in the device's <see cref="GuestInputQueue"/> and enters the receive FIFO only as the FIFO
/// has room. When the console output is full, the UART holds the bytes in its transmitter and its slow
/// path sends them once the output has room (<see cref="DeviceSignals.OutputSpaceAvailable"/>). Rebuilt
/// after a failure from the <see cref="Uart16550State"/> the supervisor captured. Used through <see cref="Definition"/>.
/// </summary>
public sealed class SerialConsoleDevice : IDevice, IConsoleInputDevice, ISlowPathDevice
{
    private readonly SerialDevice _serial;
    private readonly GuestInputQueue _input;

    /// <summary>Creates the UART for one incarnation of the device: power-on state, or the state it is rebuilt from.</summary>
    /// <exception cref="DeviceStateException">The context's restored state is not a valid <see cref="Uart16550State"/>.</exception>
    public SerialConsoleDevice(SerialPortSpec spec, DeviceContext context)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(context);
        _input = context.Input;
        _serial = new SerialDevice(spec, context.GetInterruptLine(spec.Irq), context.Output, context.Restore<Uart16550State>());

        // Raised on a vCPU thread under the UART lock: only hand over to the actor.
        _serial.ReceiveSpaceAvailable += () => context.Post(DeviceSignals.InputSpaceAvailable.Instance);

        // Raised on the console sink's thread once the output has room for bytes the transmitter holds.
        _serial.TransmitSpaceAvailable += () => context.Post(DeviceSignals.OutputSpaceAvailable.Instance);

        if (_serial.TransmitCount > 0)
        {
            // Rebuilt holding bytes: nobody waits on the output for this instance yet, so try once from the slow path.
            context.Post(DeviceSignals.OutputSpaceAvailable.Instance);
        }
    }

    /// <summary>A definition for a VM's device list: a fresh UART per (re)start, rebuilt from the captured state when there is one.</summary>
    public static DeviceDefinition Definition(SerialPortSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new DeviceDefinition(spec.Name, context => new SerialConsoleDevice(spec, context));
    }

    /// <inheritdoc />
    public string Name => _serial.Name;

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions => _serial.Regions;

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access) => _serial.HandleTrap(region, access);

    /// <summary>Moves waiting input into the receive FIFO as far as it has room; the rest stays outside the instance.</summary>
    public void OnInputAvailable()
    {
        // The device actor is the queue's only consumer, so a peeked byte is still the head when taken.
        while (_input.TryPeek(out byte next) && _serial.EnqueueInput([next]) == 1)
        {
            _input.TryTake(out _);
        }
    }

    /// <summary>Completes a transmission the full console output held up; other messages are not understood.</summary>
    public object? OnSlowPath(object message)
    {
        if (message is not DeviceSignals.OutputSpaceAvailable)
        {
            return DeviceSignals.NotUnderstood.Instance;
        }

        _serial.ResumeTransmit();
        return null;
    }

    /// <inheritdoc />
    public DeviceState CaptureState() => _serial.CaptureState();

    /// <inheritdoc />
    public void Reset() => _serial.Reset();
}
