using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.I8042;

/// <summary>
/// The hot-path adapter of an <see cref="I8042Controller"/>: two one-port regions, 0x60 (data) and 0x64
/// (status/command), so that 0x61 (PIT port B) and 0x62–0x63 stay free for other devices.
/// </summary>
public sealed class I8042Device : IDevice
{
    /// <summary>Region index of the data port.</summary>
    public const int DataRegion = 0;

    /// <summary>Region index of the status/command port.</summary>
    public const int CommandRegion = 1;

    private readonly Lock _lock = new();
    private readonly I8042Controller _controller;

    /// <summary>Creates the device at the PC ports, driving IRQ 1 and IRQ 12, at power-on or rebuilt from <paramref name="state"/>.</summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the controller can hold.</exception>
    public I8042Device(IInterruptLine keyboardIrq, IInterruptLine auxIrq, IVmPowerRequests power, I8042State? state = null)
    {
        _controller = new I8042Controller(keyboardIrq, auxIrq, power, state);
        Regions =
        [
            new DeviceRegion(TrapBus.Pio, I8042Registers.DataPort, 1),
            new DeviceRegion(TrapBus.Pio, I8042Registers.CommandPort, 1),
        ];
    }

    /// <inheritdoc />
    public string Name => "i8042";

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; }

    /// <summary>
    /// Handles a guest access. Each region is one port wide, so only byte accesses reach it; anything else
    /// (region index out of range) reads as an empty bus and writes are dropped.
    /// </summary>
    public void HandleTrap(int region, TrapAccess access)
    {
        int offset = region switch
        {
            DataRegion => I8042Registers.DataOffset,
            CommandRegion => I8042Registers.CommandOffset,
            _ => -1,
        };
        if (offset < 0 || access.Length != 1)
        {
            if (!access.IsWrite)
            {
                access.Data.Fill(0xFF);
            }

            return;
        }

        lock (_lock)
        {
            if (access.IsWrite)
            {
                _controller.Write(offset, access.Data[0]);
            }
            else
            {
                access.Data[0] = _controller.Read(offset);
            }
        }
    }

    /// <summary>Queues raw keyboard bytes (scan codes) from the host; returns how many fit.</summary>
    public int EnqueueKeyboardBytes(ReadOnlySpan<byte> values)
    {
        lock (_lock)
        {
            return _controller.EnqueueKeyboardBytes(values);
        }
    }

    /// <inheritdoc />
    public DeviceState CaptureState()
    {
        lock (_lock)
        {
            return _controller.CaptureState();
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_lock)
        {
            _controller.Reset();
        }
    }
}
