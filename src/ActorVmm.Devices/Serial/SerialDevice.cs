using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Serial;

/// <summary>
/// The hot-path adapter of a <see cref="Serial16550"/>: one region of eight byte registers on either bus,
/// a lock of its own, and thread-safe entry points for host input. The same class serves COM ports on
/// port I/O and a UART on MMIO; only the <see cref="SerialPortSpec"/> differs.
/// </summary>
public sealed class SerialDevice : IDevice
{
    private readonly Lock _lock = new();
    private readonly Serial16550 _uart;

    /// <summary>Creates the device for <paramref name="spec"/> driving <paramref name="interrupt"/>.</summary>
    /// <param name="spec">Where the UART sits.</param>
    /// <param name="interrupt">Its interrupt line.</param>
    /// <param name="output">
    /// Where transmitted bytes go. When it can refuse bytes (a bounded <see cref="GuestOutputBuffer"/>), someone must
    /// call <see cref="ResumeTransmit"/> after <see cref="TransmitSpaceAvailable"/>, as <see cref="SerialConsoleDevice"/> does.
    /// </param>
    /// <param name="state">A captured state to rebuild from, or null for power-on.</param>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not one a 16550A can be in.</exception>
    public SerialDevice(SerialPortSpec spec, IInterruptLine interrupt, IGuestOutput output, Uart16550State? state = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        _uart = new Serial16550(interrupt, output, spec.Out2GatesInterrupt, state);
        Regions = [new DeviceRegion(spec.Bus, spec.Base, Uart16550Registers.RegisterCount)];
    }

    /// <summary>Where the UART sits.</summary>
    public SerialPortSpec Spec { get; }

    /// <inheritdoc />
    public string Name => Spec.Name;

    /// <inheritdoc />
    public IReadOnlyList<DeviceRegion> Regions { get; }

    /// <summary>
    /// Raised when the guest empties the receive FIFO (see <see cref="Serial16550.ReceiveSpaceAvailable"/>).
    /// Raised under the device lock on a vCPU thread: subscribers must not block or call back into the device.
    /// </summary>
    public event Action? ReceiveSpaceAvailable
    {
        add => _uart.ReceiveSpaceAvailable += value;
        remove => _uart.ReceiveSpaceAvailable -= value;
    }

    /// <summary>
    /// Raised when the output has room again for bytes the transmitter holds (see <see cref="Serial16550.TransmitSpaceAvailable"/>).
    /// Raised on the thread that drained the output, without the device lock: subscribers only hand over to the slow path.
    /// </summary>
    public event Action? TransmitSpaceAvailable
    {
        add => _uart.TransmitSpaceAvailable += value;
        remove => _uart.TransmitSpaceAvailable -= value;
    }

    /// <summary>Bytes held in the transmitter because the output was full.</summary>
    public int TransmitCount
    {
        get
        {
            lock (_lock)
            {
                return _uart.TransmitCount;
            }
        }
    }

    /// <summary>
    /// Handles a guest access. Registers are one byte wide; a wider access is split into byte accesses at
    /// consecutive offsets, low byte first, as the ISA bus splits a 16-bit IN/OUT to an 8-bit device (and as
    /// QEMU does for its serial device).
    /// </summary>
    public void HandleTrap(int region, TrapAccess access)
    {
        if (region != 0)
        {
            access.Data.Fill(0xFF);
            return;
        }

        Span<byte> data = access.Data;
        int first = (int)Math.Min(access.Offset, Uart16550Registers.RegisterCount);
        lock (_lock)
        {
            for (int i = 0; i < data.Length; i++)
            {
                int offset = first + i;
                if (access.IsWrite)
                {
                    _uart.Write(offset, data[i]);
                }
                else
                {
                    data[i] = _uart.Read(offset);
                }
            }
        }
    }

    /// <summary>Host input with flow control; returns how many bytes were accepted (see <see cref="Serial16550.EnqueueRange"/>).</summary>
    public int EnqueueInput(ReadOnlySpan<byte> values)
    {
        lock (_lock)
        {
            return _uart.EnqueueRange(values);
        }
    }

    /// <summary>Sends a break to the guest (see <see cref="Serial16550.ReceiveBreak"/>).</summary>
    public void SendBreak()
    {
        lock (_lock)
        {
            _uart.ReceiveBreak();
        }
    }

    /// <summary>How many bytes the receive FIFO accepts now.</summary>
    public int ReceiveSpace
    {
        get
        {
            lock (_lock)
            {
                return _uart.ReceiveSpace;
            }
        }
    }

    /// <summary>Sends what the transmitter holds as far as the output has room (see <see cref="Serial16550.ResumeTransmit"/>).</summary>
    public void ResumeTransmit()
    {
        lock (_lock)
        {
            _uart.ResumeTransmit();
        }
    }

    /// <inheritdoc />
    public DeviceState CaptureState()
    {
        lock (_lock)
        {
            return _uart.CaptureState();
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_lock)
        {
            _uart.Reset();
        }
    }
}
