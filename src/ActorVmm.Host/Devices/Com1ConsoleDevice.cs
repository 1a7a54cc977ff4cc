using ActorVmm.Actors.Console;
using ActorVmm.Actors.Devices;
using ActorVmm.Actors.Devices.Serial;
using ActorVmm.Kvm.Traps;

namespace ActorVmm.Host.Devices;

/// <summary>
/// COM1 in the actor layer: the 16550A (<see cref="SerialDevice"/>) plus host console input. Typed
/// bytes wait in the device's <see cref="GuestInputQueue"/> (which survives restarts) and move into
/// the UART's receive FIFO as far as it has room; when the guest empties the FIFO the device asks its
/// actor (a Tell, never blocking the vCPU) to move more.
/// </summary>
public sealed class Com1ConsoleDevice : IDevice, IConsoleInputDevice
{
    private static readonly ConsoleProtocol.Input MoreRoom = new(ReadOnlyMemory<byte>.Empty);
    private readonly SerialDevice _uart;
    private readonly GuestInputQueue _input;

    /// <summary>Creates COM1 for a device context.</summary>
    public Com1ConsoleDevice(DeviceContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _input = context.Input;
        _uart = new SerialDevice(SerialPortSpec.Com1, context.GetInterruptLine(SerialPortSpec.Com1.Irq), new GuestOutputSerial(context.Output));
        _uart.ReceiveSpaceAvailable += () => context.Post(MoreRoom);
    }

    /// <inheritdoc />
    public string Name => _uart.Name;

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions => _uart.Regions;

    /// <inheritdoc />
    public void HandleTrap(int region, TrapAccess access) => _uart.HandleTrap(region, access);

    /// <inheritdoc />
    public void Reset() => _uart.Reset();

    /// <inheritdoc />
    public void OnInputAvailable()
    {
        Span<byte> one = stackalloc byte[1];
        while (_input.TryPeek(out one[0]) && _uart.EnqueueInput(one) == 1)
        {
            _input.TryTake(out _);
        }
    }

    /// <summary>UART transmitter bytes into the VM's console sink (hot-path safe: the sink copies).</summary>
    private sealed class GuestOutputSerial(IGuestOutput output) : ISerialOutput
    {
        public void Write(byte value) => output.Write([value]);
    }
}
