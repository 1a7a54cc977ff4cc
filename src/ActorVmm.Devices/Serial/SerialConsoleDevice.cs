using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Serial;

/// <summary>
/// A 16550A UART wired as a VM console: transmitted bytes go to the VM's console sink, host input
/// waits in the device's <see cref="GuestInputQueue"/> and enters the receive FIFO only as the FIFO
/// has room. Used through <see cref="Definition"/>.
/// </summary>
public sealed class SerialConsoleDevice : IDevice, IConsoleInputDevice
{
    private readonly SerialDevice _serial;
    private readonly GuestInputQueue _input;

    /// <summary>Creates a fresh UART for one incarnation of the device.</summary>
    public SerialConsoleDevice(SerialPortSpec spec, DeviceContext context)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(context);
        _input = context.Input;
        _serial = new SerialDevice(spec, context.GetInterruptLine(spec.Irq), context.Output);

        // Raised on a vCPU thread under the UART lock: only hand over to the actor.
        _serial.ReceiveSpaceAvailable += () => context.Post(DeviceSignals.InputSpaceAvailable.Instance);
    }

    /// <summary>A definition for a VM's device list: a fresh UART per (re)start.</summary>
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

    /// <inheritdoc />
    public void Reset() => _serial.Reset();
}
