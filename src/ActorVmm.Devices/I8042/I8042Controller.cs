using ActorVmm.Machine.Interrupts;
using static ActorVmm.Devices.I8042.I8042Registers;

namespace ActorVmm.Devices.I8042;

/// <summary>
/// The 8042 keyboard controller as a pure state machine: status and command register at offset 4 (port 0x64),
/// data at offset 0 (port 0x60), a PS/2 keyboard and a PS/2 mouse behind it, IRQ 1 and IRQ 12 injected, and
/// reset requests (command 0xFE, output-port bit 0 cleared) handed to the VM. No threads, locks or clocks.
/// </summary>
/// <remarks>
/// Writes are processed at once, so the input-buffer-full bit never shows. The single output buffer is refilled,
/// in order, from controller replies, then the keyboard queue (unless the keyboard interface is disabled), then the
/// aux queue (unless the aux interface is disabled). Scan-code translation is applied only to the keyboard's ID.
/// </remarks>
public sealed class I8042Controller
{
    /// <summary>How many bytes each PS/2 device queue (and the controller's reply queue) holds.</summary>
    public const int DeviceQueueCapacity = 16;

    private readonly IInterruptLine _keyboardIrq;
    private readonly IInterruptLine _auxIrq;
    private readonly IVmPowerRequests _power;
    private readonly Queue<I8042Reply> _controllerReplies = new();
    private readonly Ps2ByteQueue _keyboardQueue = new(DeviceQueueCapacity);
    private readonly Ps2ByteQueue _auxQueue = new(DeviceQueueCapacity);
    private readonly Ps2Keyboard _keyboard;
    private readonly Ps2Mouse _mouse;
    private readonly byte[] _ram = new byte[I8042State.RamSize];

    private byte _outputPort;
    private byte _status;
    private byte _pendingCommand;
    private byte _outputBuffer;
    private bool _outputFull;
    private bool _outputFromAux;
    private bool _keyboardLevel;
    private bool _auxLevel;

    /// <summary>
    /// Creates a controller in its power-on state, or rebuilt from <paramref name="state"/> with IRQ 1 and IRQ 12
    /// driven to the captured levels.
    /// </summary>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not a state the controller can hold.</exception>
    public I8042Controller(IInterruptLine keyboardIrq, IInterruptLine auxIrq, IVmPowerRequests power, I8042State? state = null)
    {
        ArgumentNullException.ThrowIfNull(keyboardIrq);
        ArgumentNullException.ThrowIfNull(auxIrq);
        ArgumentNullException.ThrowIfNull(power);
        _keyboardIrq = keyboardIrq;
        _auxIrq = auxIrq;
        _power = power;
        _keyboard = new Ps2Keyboard(_keyboardQueue);
        _mouse = new Ps2Mouse(_auxQueue);
        PowerOn();
        if (state is not null)
        {
            LoadState(state);
        }
    }

    /// <summary>The controller command byte (CTR).</summary>
    public byte CommandByte => _ram[0];

    /// <summary>The output port (bit 0 = CPU not in reset, bit 1 = A20).</summary>
    public byte OutputPort => ComposeOutputPort();

    /// <summary>The keyboard LED state last set with 0xED.</summary>
    public byte KeyboardLeds => _keyboard.Leds;

    /// <summary>Whether the keyboard is scanning (enabled with 0xF4, after reset).</summary>
    public bool KeyboardScanning => _keyboard.ScanningEnabled;

    /// <summary>Whether the mouse reports data (enabled with 0xD4 0xF4).</summary>
    public bool AuxReporting => _mouse.ReportingEnabled;

    /// <summary>Bytes dropped because a device queue was full.</summary>
    public long DroppedBytes => _keyboardQueue.Dropped + _auxQueue.Dropped;

    /// <summary>Reads the data port (offset 0) or the status register (offset 4); other offsets read 0xFF.</summary>
    public byte Read(int offset)
    {
        switch (offset)
        {
            case DataOffset: return ReadData();
            case CommandOffset: return ReadStatus();
            default: return 0xFF;
        }
    }

    /// <summary>Writes the data port (offset 0) or the command register (offset 4); other offsets are ignored.</summary>
    public void Write(int offset, byte value)
    {
        switch (offset)
        {
            case DataOffset:
                _status &= unchecked((byte)~StatusLastWriteWasCommand);
                WriteData(value);
                break;
            case CommandOffset:
                _status |= StatusLastWriteWasCommand;
                WriteCommand(value);
                break;
            default:
                break;
        }

        Refill();
    }

    /// <summary>
    /// Queues bytes as if the keyboard sent them (raw; no translation is applied). Returns how many fit.
    /// </summary>
    public int EnqueueKeyboardBytes(ReadOnlySpan<byte> values) => EnqueueDeviceBytes(_keyboardQueue, values);

    /// <summary>Queues bytes as if the mouse sent them. Returns how many fit.</summary>
    public int EnqueueAuxBytes(ReadOnlySpan<byte> values) => EnqueueDeviceBytes(_auxQueue, values);

    /// <summary>The controller's state as an immutable record (<see cref="I8042State"/>).</summary>
    public I8042State CaptureState() => new(
        StateArray.Create<byte>(_ram),
        _status,
        _outputPort,
        _pendingCommand,
        _outputBuffer,
        _outputFull,
        _outputFromAux,
        _keyboardLevel,
        _auxLevel,
        [.. _controllerReplies],
        _keyboardQueue.CaptureState(),
        _auxQueue.CaptureState(),
        _keyboard.CaptureState(),
        _mouse.CaptureState());

    /// <summary>Returns to the power-on state and deasserts both interrupts.</summary>
    public void Reset()
    {
        PowerOn();
        UpdateInterrupts();
    }

    private void PowerOn()
    {
        Array.Clear(_ram);
        _ram[0] = CtrPowerOn;
        _outputPort = OutputPortPowerOn;
        _status = StatusKeyboardUnlocked | StatusSystemFlag;
        _pendingCommand = 0;
        _outputBuffer = 0;
        _outputFull = false;
        _outputFromAux = false;
        _controllerReplies.Clear();
        _keyboardQueue.Clear();
        _auxQueue.Clear();
        _keyboard.Reset();
        _mouse.Reset();
    }

    private void LoadState(I8042State state)
    {
        state.Validate();
        state.Ram.CopyTo(_ram);
        _status = state.Status;
        _outputPort = state.OutputPort;
        _pendingCommand = state.PendingCommand;
        _outputBuffer = state.OutputBuffer;
        _outputFull = state.OutputFull;
        _outputFromAux = state.OutputFromAux;
        foreach (var reply in state.ControllerReplies)
        {
            _controllerReplies.Enqueue(reply);
        }

        _keyboardQueue.LoadState(state.KeyboardQueue);
        _auxQueue.LoadState(state.AuxQueue);
        _keyboard.LoadState(state.Keyboard);
        _mouse.LoadState(state.Mouse);

        // The failed instance may have left the lines elsewhere after the capture: drive them to the captured levels.
        _keyboardLevel = state.KeyboardIrqAsserted;
        _auxLevel = state.AuxIrqAsserted;
        _keyboardIrq.SetLevel(_keyboardLevel);
        _auxIrq.SetLevel(_auxLevel);
    }

    private int EnqueueDeviceBytes(Ps2ByteQueue queue, ReadOnlySpan<byte> values)
    {
        int accepted = Math.Min(values.Length, DeviceQueueCapacity - queue.Count);
        for (int i = 0; i < accepted; i++)
        {
            queue.Enqueue(values[i]);
        }

        Refill();
        return accepted;
    }

    private byte ReadStatus()
    {
        byte status = _status;
        if (_outputFull)
        {
            status |= StatusOutputFull;
            if (_outputFromAux)
            {
                status |= StatusAuxData;
            }
        }

        return status;
    }

    private byte ReadData()
    {
        // With the buffer empty the chip returns the stale byte; OBF stays clear.
        byte value = _outputBuffer;
        if (_outputFull)
        {
            _outputFull = false;

            // Drop the line before loading the next byte so an edge-triggered PIC sees a new edge per byte.
            UpdateInterrupts();
            Refill();
        }

        return value;
    }

    private void WriteData(byte value)
    {
        byte command = _pendingCommand;
        _pendingCommand = 0;
        switch (command)
        {
            case 0:
                _keyboard.Receive(value, (CommandByte & CtrTranslate) != 0);
                break;
            case CmdWriteCommandByte:
                WriteCommandByte(value);
                break;
            case > CmdWriteCommandByte and <= CmdWriteRamLast:
                _ram[command - CmdWriteCommandByte] = value;
                break;
            case CmdWriteOutputPort:
                WriteOutputPort(value);
                break;
            case CmdWriteKeyboardOutput:
                Reply(value, fromAux: false);
                break;
            case CmdWriteAuxOutput:
                Reply(value, fromAux: true);
                break;
            case CmdWriteAux:
                _mouse.Receive(value);
                break;
            default:
                break;
        }
    }

    private void WriteCommand(byte command)
    {
        _pendingCommand = 0;
        switch (command)
        {
            case >= CmdReadCommandByte and <= CmdReadRamLast:
                Reply(_ram[command - CmdReadCommandByte], fromAux: false);
                break;
            case >= CmdWriteCommandByte and <= CmdWriteRamLast:
            case CmdWriteOutputPort or CmdWriteKeyboardOutput or CmdWriteAuxOutput or CmdWriteAux:
                _pendingCommand = command;
                break;
            case CmdPasswordTest:
                Reply(ReplyNoPassword, fromAux: false);
                break;
            case CmdAuxDisable:
                WriteCommandByte((byte)(CommandByte | CtrAuxDisabled));
                break;
            case CmdAuxEnable:
                WriteCommandByte((byte)(CommandByte & ~CtrAuxDisabled));
                break;
            case CmdAuxInterfaceTest or CmdKeyboardInterfaceTest:
                Reply(ReplyInterfaceTestPassed, fromAux: false);
                break;
            case CmdSelfTest:
                _status |= StatusSystemFlag;
                Reply(ReplySelfTestPassed, fromAux: false);
                break;
            case CmdKeyboardDisable:
                WriteCommandByte((byte)(CommandByte | CtrKeyboardDisabled));
                break;
            case CmdKeyboardEnable:
                WriteCommandByte((byte)(CommandByte & ~CtrKeyboardDisabled));
                break;
            case CmdReadInputPort:
                Reply(InputPortValue, fromAux: false);
                break;
            case CmdReadOutputPort:
                Reply(ComposeOutputPort(), fromAux: false);
                break;
            case CmdReadTestInputs:
                Reply(0, fromAux: false);
                break;
            case >= CmdPulseFirst:
                // Low nibble bits that are 0 select output-port bits to pulse low; bit 0 is the CPU reset line.
                if ((command & OutputPortResetBit) == 0)
                {
                    _power.RequestReset(PowerRequestSource.KeyboardControllerReset);
                }

                break;
            default:
                // Unknown and vendor-specific commands are ignored, as most controllers do.
                break;
        }
    }

    private void WriteCommandByte(byte value)
    {
        _ram[0] = value;
        if ((value & CtrSystemFlag) != 0)
        {
            _status |= StatusSystemFlag;
        }
        else
        {
            _status &= unchecked((byte)~StatusSystemFlag);
        }

        UpdateInterrupts();
    }

    private void WriteOutputPort(byte value)
    {
        _outputPort = (byte)(value & ~(OutputPortKeyboardFullBit | OutputPortAuxFullBit));
        if ((value & OutputPortResetBit) == 0)
        {
            _outputPort |= OutputPortResetBit;
            _power.RequestReset(PowerRequestSource.KeyboardControllerReset);
        }
    }

    private byte ComposeOutputPort()
    {
        byte value = _outputPort;
        if (_outputFull)
        {
            value |= _outputFromAux ? OutputPortAuxFullBit : OutputPortKeyboardFullBit;
        }

        return value;
    }

    private void Reply(byte value, bool fromAux)
    {
        if (_controllerReplies.Count < DeviceQueueCapacity)
        {
            _controllerReplies.Enqueue(new I8042Reply(value, fromAux));
        }
    }

    private void Refill()
    {
        if (!_outputFull)
        {
            if (_controllerReplies.TryDequeue(out var reply))
            {
                Load(reply.Value, reply.FromAux);
            }
            else if ((CommandByte & CtrKeyboardDisabled) == 0 && _keyboardQueue.TryDequeue(out byte key))
            {
                Load(key, fromAux: false);
            }
            else if ((CommandByte & CtrAuxDisabled) == 0 && _auxQueue.TryDequeue(out byte aux))
            {
                Load(aux, fromAux: true);
            }
        }

        UpdateInterrupts();
    }

    private void Load(byte value, bool fromAux)
    {
        _outputBuffer = value;
        _outputFull = true;
        _outputFromAux = fromAux;
    }

    private void UpdateInterrupts()
    {
        bool keyboard = _outputFull && !_outputFromAux && (CommandByte & CtrKeyboardInterrupt) != 0;
        bool aux = _outputFull && _outputFromAux && (CommandByte & CtrAuxInterrupt) != 0;
        if (keyboard != _keyboardLevel)
        {
            _keyboardLevel = keyboard;
            _keyboardIrq.SetLevel(keyboard);
        }

        if (aux != _auxLevel)
        {
            _auxLevel = aux;
            _auxIrq.SetLevel(aux);
        }
    }
}
