using System.Collections.Immutable;
using static ActorVmm.Devices.Serial.Uart16550Registers;

namespace ActorVmm.Devices.Serial;

/// <summary>
/// The guest-visible state of a 16550A (<see cref="Serial16550.CaptureState"/>), from which a failed UART is rebuilt
/// with the registers its driver programmed: IER, LCR, MCR, SCR, the divisor latch, the FIFO mode and trigger level,
/// both FIFOs' contents, and what makes up the pending interrupt identification (line errors, modem deltas, THRE).
/// The modem input lines are not stored: they follow from MCR (loopback) and the host side. Where the bytes go and
/// which IRQ it drives come from the device's definition again.
/// </summary>
/// <param name="InterruptEnable">IER (bits 0..3).</param>
/// <param name="LineControl">LCR, DLAB included.</param>
/// <param name="ModemControl">MCR (bits 0..4).</param>
/// <param name="Scratch">SCR.</param>
/// <param name="Divisor">The divisor latch, DLM:DLL.</param>
/// <param name="FifoEnabled">FCR bit 0 as last written.</param>
/// <param name="ReceiveTriggerLevel">The receive trigger level in bytes: 1, 4, 8 or 14.</param>
/// <param name="LineErrors">LSR error bits not yet read (OE, PE, FE, BI, and the FIFO error bit).</param>
/// <param name="ModemDeltas">MSR delta bits not yet read (bits 0..3).</param>
/// <param name="ThrEmptyInterruptPending">Whether a THR-empty interrupt is pending (cleared by reading IIR or writing THR).</param>
/// <param name="LastReceived">What an empty RBR reads back (the last character received).</param>
/// <param name="ReceiveFifo">Bytes waiting in the receive FIFO (RBR with FIFOs off), oldest first.</param>
/// <param name="TransmitFifo">Bytes held in the transmitter because the host side had no room yet, oldest first.</param>
public sealed record Uart16550State(
    byte InterruptEnable,
    byte LineControl,
    byte ModemControl,
    byte Scratch,
    ushort Divisor,
    bool FifoEnabled,
    int ReceiveTriggerLevel,
    byte LineErrors,
    byte ModemDeltas,
    bool ThrEmptyInterruptPending,
    byte LastReceived,
    ImmutableArray<byte> ReceiveFifo,
    ImmutableArray<byte> TransmitFifo) : DeviceState
{
    /// <summary>The LSR bits that can wait to be read: the error bits and, in FIFO mode, the FIFO error summary.</summary>
    public const byte LineErrorMask = LsrErrorBits | LsrFifoErrorBit;

    /// <summary>The trigger levels FCR bits 6..7 select.</summary>
    public static ImmutableArray<int> TriggerLevels { get; } = [1, 4, 8, 14];

    /// <summary>How many bytes each FIFO holds in a mode: the FIFO depth, or one register with FIFOs off (16450 mode).</summary>
    public static int FifoCapacity(bool fifoEnabled) => fifoEnabled ? FifoDepth : 1;

    /// <inheritdoc />
    public override void Validate()
    {
        Require((InterruptEnable & ~IerWritableMask) == 0, $"IER 0x{InterruptEnable:X2} sets bits a 16550A does not have");
        Require((ModemControl & ~McrWritableMask) == 0, $"MCR 0x{ModemControl:X2} sets bits a 16550A does not have");
        Require(TriggerLevels.Contains(ReceiveTriggerLevel), $"receive trigger level {ReceiveTriggerLevel} is not 1, 4, 8 or 14");
        Require((LineErrors & ~LineErrorMask) == 0, $"line errors 0x{LineErrors:X2} include status bits that are not errors");
        Require((ModemDeltas & ~MsrDeltaBits) == 0, $"modem deltas 0x{ModemDeltas:X2} include line bits");
        Require(!ReceiveFifo.IsDefault && ReceiveFifo.Length <= FifoCapacity(FifoEnabled), $"receive FIFO holds {(ReceiveFifo.IsDefault ? "nothing valid" : ReceiveFifo.Length)} bytes, more than {FifoCapacity(FifoEnabled)}");
        Require(!TransmitFifo.IsDefault && TransmitFifo.Length <= FifoCapacity(FifoEnabled), $"transmit FIFO holds {(TransmitFifo.IsDefault ? "nothing valid" : TransmitFifo.Length)} bytes, more than {FifoCapacity(FifoEnabled)}");
        Require(!ThrEmptyInterruptPending || TransmitFifo.IsEmpty, "a THR-empty interrupt is pending while the transmitter holds bytes");
    }

    /// <summary>Equal when every register and every FIFO byte is equal.</summary>
    public bool Equals(Uart16550State? other) =>
        other is not null
        && InterruptEnable == other.InterruptEnable
        && LineControl == other.LineControl
        && ModemControl == other.ModemControl
        && Scratch == other.Scratch
        && Divisor == other.Divisor
        && FifoEnabled == other.FifoEnabled
        && ReceiveTriggerLevel == other.ReceiveTriggerLevel
        && LineErrors == other.LineErrors
        && ModemDeltas == other.ModemDeltas
        && ThrEmptyInterruptPending == other.ThrEmptyInterruptPending
        && LastReceived == other.LastReceived
        && ReceiveFifo.AsSpan().SequenceEqual(other.ReceiveFifo.AsSpan())
        && TransmitFifo.AsSpan().SequenceEqual(other.TransmitFifo.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(InterruptEnable, LineControl, ModemControl, Divisor, FifoEnabled, ReceiveFifo.Length, TransmitFifo.Length);
}
