using System.Collections.Immutable;
using ActorVmm.Machine.Interrupts;
using static ActorVmm.Devices.Serial.Uart16550Registers;

namespace ActorVmm.Devices.Serial;

/// <summary>
/// A 16550A UART as a pure state machine in the style of rust-vmm's vm-superio: byte registers read and
/// written by offset, with the interrupt line and the output sink injected. No threads, locks or clocks:
/// the caller (<see cref="SerialDevice"/>) serializes access.
/// </summary>
/// <remarks>
/// There is no physical line, so transmission is instantaneous while the host side keeps up: a THR write reaches
/// the sink at once and THRE and TEMT stay set. When the sink is full (a stalled terminal or pipe), the byte stays
/// in the transmit FIFO (THR with FIFOs off) and THRE and TEMT read clear, so a driver waits as it would for a slow
/// line; once the sink has room (<see cref="TransmitSpaceAvailable"/>, then <see cref="ResumeTransmit"/>) the bytes
/// leave, THRE is set and its interrupt raised. A THR write while the FIFO is full is lost, as on the chip
/// (<see cref="TransmitOverrunCount"/>); the shift register is not modelled apart from the FIFO. Host input arrives in batches; when a batch leaves bytes below the
/// trigger level, the receive line counts as idle at once and the character-timeout interrupt (IIR 0xC)
/// is reported immediately instead of after four character times. Baud rate, word length, parity and
/// stop bits are stored and read back but not applied.
/// </remarks>
public sealed class Serial16550
{
    private readonly IInterruptLine _interrupt;
    private readonly IGuestOutput _output;
    private readonly bool _out2GatesInterrupt;
    private readonly UartFifo _receive = new();
    private readonly UartFifo _transmit = new();
    private readonly TransmitWaiter _transmitWaiter;

    private byte _ier;
    private byte _lcr;
    private byte _mcr;
    private byte _scr;
    private byte _dll;
    private byte _dlm;
    private bool _fifoEnabled;
    private int _triggerLevel;
    private byte _lineErrors;
    private byte _modemLines; // derived from MCR (loopback) and the host side; not part of the captured state
    private byte _modemDeltas;
    private bool _thrEmptyPending;
    private byte _lastReceived;
    private bool _interruptAsserted;

    /// <summary>Creates a UART in its power-on state.</summary>
    /// <param name="interrupt">The UART's interrupt output (IRQ 4 for COM1 on a PC).</param>
    /// <param name="output">Receives each transmitted byte.</param>
    /// <param name="out2GatesInterrupt">
    /// True on PC boards, where MCR.OUT2 gates the UART's interrupt onto the ISA IRQ line (and loopback, which
    /// forces OUT2 inactive, disconnects it); false for a UART wired directly, as on arm64's platform MMIO.
    /// </param>
    /// <param name="state">A captured state to rebuild from (validated here), or null for the power-on state.</param>
    /// <exception cref="DeviceStateException"><paramref name="state"/> is not one a 16550A can be in.</exception>
    public Serial16550(IInterruptLine interrupt, IGuestOutput output, bool out2GatesInterrupt = true, Uart16550State? state = null)
    {
        ArgumentNullException.ThrowIfNull(interrupt);
        ArgumentNullException.ThrowIfNull(output);
        _interrupt = interrupt;
        _output = output;
        _out2GatesInterrupt = out2GatesInterrupt;
        _transmitWaiter = new TransmitWaiter(this);
        PowerOn();
        if (state is not null)
        {
            Load(state);
        }
    }

    /// <summary>
    /// Raised when a guest read empties the receive FIFO, so a host-input source that was told "no room"
    /// can send more. Raised on the reading vCPU thread under the device lock: subscribers must not block.
    /// </summary>
    public event Action? ReceiveSpaceAvailable;

    /// <summary>
    /// Raised when the output that refused transmitted bytes has room again: call <see cref="ResumeTransmit"/> from
    /// the device's slow path. Raised on the thread that drained the output (not a vCPU), without the device lock:
    /// subscribers only hand over and must not block.
    /// </summary>
    public event Action? TransmitSpaceAvailable;

    /// <summary>Whether the interrupt output is asserted now (after OUT2 gating).</summary>
    public bool InterruptAsserted => _interruptAsserted;

    /// <summary>Bytes waiting in the receive FIFO.</summary>
    public int ReceiveCount => _receive.Count;

    /// <summary>How many more bytes the receive FIFO accepts now (1 deep with FIFOs off, as a 16450).</summary>
    public int ReceiveSpace => ReceiveCapacity - _receive.Count;

    /// <summary>Received bytes lost to overrun since power-on.</summary>
    public long OverrunCount { get; private set; }

    /// <summary>Bytes held in the transmitter because the output had no room.</summary>
    public int TransmitCount => _transmit.Count;

    /// <summary>Transmitted bytes lost because the guest wrote THR while the transmit FIFO was full (since creation).</summary>
    public long TransmitOverrunCount { get; private set; }

    /// <summary>Whether MCR.LOOP is set (transmit feeds receive; host input is not accepted).</summary>
    public bool IsLoopback => (_mcr & McrLoopBit) != 0;

    /// <summary>Whether the FIFOs are enabled (FCR bit 0).</summary>
    public bool FifoEnabled => _fifoEnabled;

    /// <summary>The receive trigger level in bytes selected by FCR bits 6..7 (1, 4, 8 or 14).</summary>
    public int ReceiveTriggerLevel => _triggerLevel;

    /// <summary>The current divisor latch (DLM:DLL).</summary>
    public ushort Divisor => (ushort)((_dlm << 8) | _dll);

    private int ReceiveCapacity => Uart16550State.FifoCapacity(_fifoEnabled);

    private int TransmitCapacity => Uart16550State.FifoCapacity(_fifoEnabled);

    private bool Dlab => (_lcr & LcrDlabBit) != 0;

    /// <summary>Reads the register at <paramref name="offset"/>; offsets outside 0..7 read as an empty bus (0xFF).</summary>
    public byte Read(int offset)
    {
        switch (offset)
        {
            case RbrOffset: return Dlab ? _dll : ReadReceiveBuffer();
            case IerOffset: return Dlab ? _dlm : _ier;
            case IirOffset: return ReadInterruptIdentification();
            case LcrOffset: return _lcr;
            case McrOffset: return _mcr;
            case LsrOffset: return ReadLineStatus();
            case MsrOffset: return ReadModemStatus();
            case ScrOffset: return _scr;
            default: return 0xFF;
        }
    }

    /// <summary>
    /// Writes the register at <paramref name="offset"/>. Writes to the read-only LSR and MSR and to offsets
    /// outside 0..7 are ignored, as on the chip.
    /// </summary>
    public void Write(int offset, byte value)
    {
        switch (offset)
        {
            case ThrOffset when Dlab: _dll = value; break;
            case ThrOffset: WriteTransmitHolding(value); break;
            case IerOffset when Dlab: _dlm = value; break;
            case IerOffset: WriteInterruptEnable(value); break;
            case FcrOffset: WriteFifoControl(value); break;
            case LcrOffset: _lcr = value; break;
            case McrOffset: WriteModemControl(value); break;
            case ScrOffset: _scr = value; break;
            default: break;
        }
    }

    /// <summary>
    /// One byte arrives on the receive line. When the FIFO (or, with FIFOs off, RBR) is full the byte causes an
    /// overrun as on the chip: LSR.OE is set and the byte is lost (16550 mode) or overwrites RBR (16450 mode).
    /// </summary>
    /// <returns>True when the byte was queued without loss; false on overrun or while in loopback.</returns>
    public bool Enqueue(byte value)
    {
        if (IsLoopback)
        {
            return false;
        }

        bool accepted = Receive(value);
        UpdateInterrupt();
        return accepted;
    }

    /// <summary>
    /// Host input with flow control: queues as many bytes as fit without overrun and reports how many, so the
    /// caller keeps the rest (and waits for <see cref="ReceiveSpaceAvailable"/>). Nothing is accepted in loopback,
    /// where the receive line is disconnected.
    /// </summary>
    public int EnqueueRange(ReadOnlySpan<byte> values)
    {
        if (IsLoopback)
        {
            return 0;
        }

        int accepted = Math.Min(values.Length, ReceiveSpace);
        for (int i = 0; i < accepted; i++)
        {
            Receive(values[i]);
        }

        UpdateInterrupt();
        return accepted;
    }

    /// <summary>A break condition arrives on the receive line: a zero byte is queued and LSR.BI is set.</summary>
    public void ReceiveBreak()
    {
        if (IsLoopback)
        {
            return;
        }

        Receive(0);
        _lineErrors |= LsrBreakInterruptBit;
        if (_fifoEnabled)
        {
            _lineErrors |= LsrFifoErrorBit;
        }

        UpdateInterrupt();
    }

    /// <summary>Master reset: every register to its power-on value, FIFOs emptied, interrupt deasserted.</summary>
    public void Reset()
    {
        PowerOn();
        UpdateInterrupt();
    }

    private void PowerOn()
    {
        _ier = 0;
        _lcr = 0;
        _mcr = 0;
        _scr = 0;
        _dll = (byte)DefaultDivisor;
        _dlm = DefaultDivisor >> 8;
        _fifoEnabled = false;
        _triggerLevel = 1;
        _lineErrors = 0;
        _modemLines = MsrHostLinesConnected;
        _modemDeltas = 0;
        _thrEmptyPending = false;
        _lastReceived = 0;
        _receive.Clear();
        _transmit.Clear();
    }

    /// <summary>The guest-visible state, to rebuild an equal UART from (see <see cref="Uart16550State"/>).</summary>
    public Uart16550State CaptureState() => new(
        _ier,
        _lcr,
        _mcr,
        _scr,
        Divisor,
        _fifoEnabled,
        _triggerLevel,
        _lineErrors,
        _modemDeltas,
        _thrEmptyPending,
        _lastReceived,
        ImmutableArray.Create(_receive.ToArray()),
        ImmutableArray.Create(_transmit.ToArray()));

    /// <summary>
    /// Sends the bytes the transmitter holds as far as the output takes them; when it has sent them all, THR is empty
    /// again and the THRE interrupt is raised if enabled. Called from the slow path after <see cref="TransmitSpaceAvailable"/>.
    /// </summary>
    public void ResumeTransmit()
    {
        if (_transmit.IsEmpty)
        {
            return;
        }

        while (!_transmit.IsEmpty)
        {
            var run = _transmit.FirstRun;
            int sent = _output.TryWrite(run, _transmitWaiter);
            _transmit.Discard(sent);
            if (sent < run.Length)
            {
                // Still full: the output will tell the waiter again.
                return;
            }
        }

        _thrEmptyPending = true;
        UpdateInterrupt();
    }

    private void Load(Uart16550State state)
    {
        state.Validate();
        _ier = state.InterruptEnable;
        _lcr = state.LineControl;
        _mcr = state.ModemControl;
        _scr = state.Scratch;
        _dll = (byte)state.Divisor;
        _dlm = (byte)(state.Divisor >> 8);
        _fifoEnabled = state.FifoEnabled;
        _triggerLevel = state.ReceiveTriggerLevel;
        _lineErrors = state.LineErrors;
        _modemLines = IsLoopback ? LoopedBackModemLines(_mcr) : MsrHostLinesConnected;
        _modemDeltas = state.ModemDeltas;
        _thrEmptyPending = state.ThrEmptyInterruptPending;
        _lastReceived = state.LastReceived;
        _receive.Load(state.ReceiveFifo.AsSpan());
        _transmit.Load(state.TransmitFifo.AsSpan());

        // Drive the line to what the state says, whatever the failed instance left on it.
        _interruptAsserted = ComputeInterruptLevel();
        _interrupt.SetLevel(_interruptAsserted);
    }

    private byte ReadReceiveBuffer()
    {
        if (!_receive.TryPop(out byte value))
        {
            // An empty RBR reads back the last character received, as the chip's holding latch does.
            return _lastReceived;
        }

        _lastReceived = value;
        UpdateInterrupt();
        if (_receive.IsEmpty)
        {
            ReceiveSpaceAvailable?.Invoke();
        }

        return value;
    }

    private byte ReadInterruptIdentification()
    {
        byte id = HighestPendingInterrupt();
        if (id == IirThrEmpty)
        {
            // Reading IIR while THRE is the reported source clears it (datasheet table 4).
            _thrEmptyPending = false;
            UpdateInterrupt();
        }

        return (byte)(id | (_fifoEnabled ? IirFifoEnabledBits : 0));
    }

    private byte ReadLineStatus()
    {
        byte value = _lineErrors;
        if (_transmit.IsEmpty)
        {
            value |= LsrThrEmptyBit | LsrTransmitterEmptyBit;
        }

        if (!_receive.IsEmpty)
        {
            value |= LsrDataReadyBit;
        }

        _lineErrors = 0;
        UpdateInterrupt();
        return value;
    }

    private byte ReadModemStatus()
    {
        byte value = (byte)(_modemLines | _modemDeltas);
        _modemDeltas = 0;
        UpdateInterrupt();
        return value;
    }

    private void WriteTransmitHolding(byte value)
    {
        // Writing THR clears a pending THRE interrupt; when the byte leaves at once THR is empty again, which
        // re-raises it: the line drops and rises, giving an edge-triggered PIC a fresh edge.
        _thrEmptyPending = false;
        UpdateInterrupt();
        if (IsLoopback)
        {
            Receive(value);
        }
        else if (!_transmit.IsEmpty || _output.TryWrite(new ReadOnlySpan<byte>(in value), _transmitWaiter) == 0)
        {
            // The output is full (or bytes already wait ahead of this one): hold it; THRE stays clear until it leaves.
            if (!_transmit.TryPush(value, TransmitCapacity))
            {
                TransmitOverrunCount++;
            }
        }

        if (_transmit.IsEmpty)
        {
            _thrEmptyPending = true;
        }

        UpdateInterrupt();
    }

    private void WriteInterruptEnable(byte value)
    {
        byte previous = _ier;
        _ier = (byte)(value & IerWritableMask);

        // Enabling ETBEI while THR is empty raises THRE at once; Linux's THRE test depends on it.
        if ((_ier & IerThrEmptyBit) != 0 && (previous & IerThrEmptyBit) == 0 && _transmit.IsEmpty)
        {
            _thrEmptyPending = true;
        }

        UpdateInterrupt();
    }

    private void WriteFifoControl(byte value)
    {
        bool enable = (value & FcrEnableFifoBit) != 0;
        bool transmitHeld = !_transmit.IsEmpty;
        if (enable != _fifoEnabled)
        {
            // Changing FCR bit 0 resets both FIFOs.
            _receive.Clear();
            _transmit.Clear();
            _fifoEnabled = enable;
        }

        // The other FCR bits take effect only in a write that also has bit 0 set.
        if (enable)
        {
            if ((value & FcrClearReceiveBit) != 0)
            {
                _receive.Clear();
            }

            if ((value & FcrClearTransmitBit) != 0)
            {
                _transmit.Clear();
            }

            _triggerLevel = (value & FcrTriggerMask) switch
            {
                FcrTrigger1 => 1,
                FcrTrigger4 => 4,
                FcrTrigger8 => 8,
                _ => 14,
            };
        }

        if (transmitHeld && _transmit.IsEmpty)
        {
            // Clearing held bytes empties THR, which raises THRE as a byte leaving it would.
            _thrEmptyPending = true;
        }

        UpdateInterrupt();
    }

    private void WriteModemControl(byte value)
    {
        _mcr = (byte)(value & McrWritableMask);
        byte lines = IsLoopback ? LoopedBackModemLines(_mcr) : MsrHostLinesConnected;
        byte changed = (byte)(lines ^ _modemLines);
        if ((changed & MsrCtsBit) != 0)
        {
            _modemDeltas |= MsrDeltaCtsBit;
        }

        if ((changed & MsrDsrBit) != 0)
        {
            _modemDeltas |= MsrDeltaDsrBit;
        }

        if ((changed & MsrDcdBit) != 0)
        {
            _modemDeltas |= MsrDeltaDcdBit;
        }

        if ((_modemLines & MsrRiBit) != 0 && (lines & MsrRiBit) == 0)
        {
            _modemDeltas |= MsrTrailingEdgeRiBit;
        }

        _modemLines = lines;
        UpdateInterrupt();
    }

    /// <summary>Loopback wiring inside the chip: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.</summary>
    private static byte LoopedBackModemLines(byte mcr)
    {
        byte lines = 0;
        if ((mcr & McrDtrBit) != 0)
        {
            lines |= MsrDsrBit;
        }

        if ((mcr & McrRtsBit) != 0)
        {
            lines |= MsrCtsBit;
        }

        if ((mcr & McrOut1Bit) != 0)
        {
            lines |= MsrRiBit;
        }

        if ((mcr & McrOut2Bit) != 0)
        {
            lines |= MsrDcdBit;
        }

        return lines;
    }

    private bool Receive(byte value)
    {
        if (_receive.TryPush(value, ReceiveCapacity))
        {
            return true;
        }

        _lineErrors |= LsrOverrunErrorBit;
        OverrunCount++;
        if (!_fifoEnabled)
        {
            // 16450 mode: the new character overwrites the unread one in RBR.
            _receive.OverwriteNewest(value);
        }

        return false;
    }

    /// <summary>The IIR identification of the highest-priority enabled, pending interrupt (datasheet table 4).</summary>
    private byte HighestPendingInterrupt()
    {
        if ((_ier & IerLineStatusBit) != 0 && (_lineErrors & LsrErrorBits) != 0)
        {
            return IirReceiverLineStatus;
        }

        if ((_ier & IerReceivedDataBit) != 0 && !_receive.IsEmpty)
        {
            return !_fifoEnabled || _receive.Count >= _triggerLevel ? IirReceivedDataAvailable : IirCharacterTimeout;
        }

        if ((_ier & IerThrEmptyBit) != 0 && _thrEmptyPending)
        {
            return IirThrEmpty;
        }

        if ((_ier & IerModemStatusBit) != 0 && _modemDeltas != 0)
        {
            return IirModemStatus;
        }

        return IirNoInterruptPending;
    }

    private bool ComputeInterruptLevel()
    {
        bool pending = HighestPendingInterrupt() != IirNoInterruptPending;
        bool connected = !_out2GatesInterrupt || ((_mcr & McrOut2Bit) != 0 && !IsLoopback);
        return pending && connected;
    }

    private void UpdateInterrupt()
    {
        bool level = ComputeInterruptLevel();
        if (level != _interruptAsserted)
        {
            _interruptAsserted = level;
            _interrupt.SetLevel(level);
        }
    }

    /// <summary>What the output holds on to while it is full; a separate object so the UART's own API stays as it is.</summary>
    private sealed class TransmitWaiter(Serial16550 uart) : IGuestOutputWaiter
    {
        public void OnOutputSpaceAvailable() => uart.TransmitSpaceAvailable?.Invoke();
    }
}
