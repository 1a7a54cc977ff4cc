namespace ActorVmm.Devices.Serial;

/// <summary>
/// Register offsets and bits of the National Semiconductor PC16550D (the "16550A" as Linux names it),
/// as laid out in its datasheet and in Linux's <c>include/uapi/linux/serial_reg.h</c>.
/// </summary>
public static class Uart16550Registers
{
    /// <summary>Number of byte registers the UART decodes (offsets 0..7).</summary>
    public const int RegisterCount = 8;

    /// <summary>Depth of the receive and transmit FIFOs.</summary>
    public const int FifoDepth = 16;

    // ---- Offsets -------------------------------------------------------------------------------------

    /// <summary>Receiver buffer register: read with DLAB = 0 pops the receive FIFO.</summary>
    public const int RbrOffset = 0;

    /// <summary>Transmitter holding register: write with DLAB = 0 sends a byte.</summary>
    public const int ThrOffset = 0;

    /// <summary>Divisor latch, low byte: offset 0 while LCR.DLAB = 1.</summary>
    public const int DllOffset = 0;

    /// <summary>Interrupt enable register (DLAB = 0).</summary>
    public const int IerOffset = 1;

    /// <summary>Divisor latch, high byte: offset 1 while LCR.DLAB = 1.</summary>
    public const int DlmOffset = 1;

    /// <summary>Interrupt identification register (read; not affected by DLAB).</summary>
    public const int IirOffset = 2;

    /// <summary>FIFO control register (write-only; shares offset 2 with IIR; not affected by DLAB).</summary>
    public const int FcrOffset = 2;

    /// <summary>Line control register.</summary>
    public const int LcrOffset = 3;

    /// <summary>Modem control register.</summary>
    public const int McrOffset = 4;

    /// <summary>Line status register (read-only; writes are factory test and ignored).</summary>
    public const int LsrOffset = 5;

    /// <summary>Modem status register (read-only; reading clears the delta bits).</summary>
    public const int MsrOffset = 6;

    /// <summary>Scratch register: eight bits of storage with no effect (the 8250 lacks it).</summary>
    public const int ScrOffset = 7;

    // ---- IER -----------------------------------------------------------------------------------------

    /// <summary>IER bit 0: interrupt on received data available (and on character timeout).</summary>
    public const byte IerReceivedDataBit = 0b0000_0001;

    /// <summary>IER bit 1: interrupt when the transmitter holding register is empty.</summary>
    public const byte IerThrEmptyBit = 0b0000_0010;

    /// <summary>IER bit 2: interrupt on receiver line status (overrun, parity, framing, break).</summary>
    public const byte IerLineStatusBit = 0b0000_0100;

    /// <summary>IER bit 3: interrupt on modem status change (MSR delta bits).</summary>
    public const byte IerModemStatusBit = 0b0000_1000;

    /// <summary>The IER bits a 16550A implements; bits 4..7 read as zero (Linux's XScale UUE probe relies on it).</summary>
    public const byte IerWritableMask = 0b0000_1111;

    // ---- IIR -----------------------------------------------------------------------------------------

    /// <summary>IIR bit 0: set when no interrupt is pending.</summary>
    public const byte IirNoInterruptPending = 0b0000_0001;

    /// <summary>IIR identification (priority 1, highest): receiver line status; cleared by reading LSR.</summary>
    public const byte IirReceiverLineStatus = 0b0000_0110;

    /// <summary>IIR identification (priority 2): received data reached the trigger level; cleared when it drops below.</summary>
    public const byte IirReceivedDataAvailable = 0b0000_0100;

    /// <summary>IIR identification (priority 2, FIFO mode): characters wait below the trigger level; cleared by reading RBR.</summary>
    public const byte IirCharacterTimeout = 0b0000_1100;

    /// <summary>IIR identification (priority 3): THR empty; cleared by reading IIR or writing THR.</summary>
    public const byte IirThrEmpty = 0b0000_0010;

    /// <summary>IIR identification (priority 4, lowest): modem status; cleared by reading MSR.</summary>
    public const byte IirModemStatus = 0b0000_0000;

    /// <summary>IIR bits 6..7: both set while the FIFOs are enabled (what tells Linux it is a 16550A, not a 16550).</summary>
    public const byte IirFifoEnabledBits = 0b1100_0000;

    /// <summary>IIR bits 0..3: the interrupt identification field.</summary>
    public const byte IirIdMask = 0b0000_1111;

    // ---- FCR -----------------------------------------------------------------------------------------

    /// <summary>FCR bit 0: enable both FIFOs; changing it clears them.</summary>
    public const byte FcrEnableFifoBit = 0b0000_0001;

    /// <summary>FCR bit 1: clear the receive FIFO (self-clearing).</summary>
    public const byte FcrClearReceiveBit = 0b0000_0010;

    /// <summary>FCR bit 2: clear the transmit FIFO (self-clearing).</summary>
    public const byte FcrClearTransmitBit = 0b0000_0100;

    /// <summary>FCR bit 3: DMA mode select (RXRDY/TXRDY pin behaviour; no DMA here, stored only).</summary>
    public const byte FcrDmaModeBit = 0b0000_1000;

    /// <summary>FCR bit 5: 64-byte FIFO on a TI16750; reserved on a 16550A (Linux's 16750 probe expects it ignored).</summary>
    public const byte Fcr64ByteFifoBit = 0b0010_0000;

    /// <summary>FCR bits 6..7: receive FIFO trigger level (1, 4, 8 or 14 bytes).</summary>
    public const byte FcrTriggerMask = 0b1100_0000;

    /// <summary>FCR trigger field value for a 1-byte trigger level.</summary>
    public const byte FcrTrigger1 = 0b0000_0000;

    /// <summary>FCR trigger field value for a 4-byte trigger level.</summary>
    public const byte FcrTrigger4 = 0b0100_0000;

    /// <summary>FCR trigger field value for an 8-byte trigger level (Linux's default for a 16550A).</summary>
    public const byte FcrTrigger8 = 0b1000_0000;

    /// <summary>FCR trigger field value for a 14-byte trigger level.</summary>
    public const byte FcrTrigger14 = 0b1100_0000;

    // ---- LCR -----------------------------------------------------------------------------------------

    /// <summary>LCR bits 0..1: word length 5..8 bits (stored; no bit timing is emulated).</summary>
    public const byte LcrWordLengthMask = 0b0000_0011;

    /// <summary>LCR value for 8 data bits, no parity, one stop bit (8N1).</summary>
    public const byte Lcr8N1 = 0b0000_0011;

    /// <summary>LCR bit 6: set break (TX held at spacing); in loopback it is received as a break.</summary>
    public const byte LcrSetBreakBit = 0b0100_0000;

    /// <summary>LCR bit 7: divisor latch access bit; offsets 0 and 1 become DLL and DLM.</summary>
    public const byte LcrDlabBit = 0b1000_0000;

    /// <summary>LCR value Linux writes to reach enhanced registers (EFR) on 16650-class UARTs ("configuration mode B").</summary>
    public const byte LcrConfigurationModeB = 0xBF;

    // ---- MCR -----------------------------------------------------------------------------------------

    /// <summary>MCR bit 0: data terminal ready.</summary>
    public const byte McrDtrBit = 0b0000_0001;

    /// <summary>MCR bit 1: request to send.</summary>
    public const byte McrRtsBit = 0b0000_0010;

    /// <summary>MCR bit 2: user output 1 (looped back to RI).</summary>
    public const byte McrOut1Bit = 0b0000_0100;

    /// <summary>MCR bit 3: user output 2; on PC boards it gates the UART's interrupt onto the ISA IRQ line.</summary>
    public const byte McrOut2Bit = 0b0000_1000;

    /// <summary>MCR bit 4: local loopback; TX feeds RX and the modem outputs feed the modem inputs.</summary>
    public const byte McrLoopBit = 0b0001_0000;

    /// <summary>The MCR bits a 16550A implements; bits 5..7 read as zero.</summary>
    public const byte McrWritableMask = 0b0001_1111;

    // ---- LSR -----------------------------------------------------------------------------------------

    /// <summary>LSR bit 0: data ready, at least one byte waits in RBR / the receive FIFO.</summary>
    public const byte LsrDataReadyBit = 0b0000_0001;

    /// <summary>LSR bit 1: overrun error, a received byte was lost; cleared by reading LSR.</summary>
    public const byte LsrOverrunErrorBit = 0b0000_0010;

    /// <summary>LSR bit 2: parity error (never produced: there is no physical line).</summary>
    public const byte LsrParityErrorBit = 0b0000_0100;

    /// <summary>LSR bit 3: framing error (never produced: there is no physical line).</summary>
    public const byte LsrFramingErrorBit = 0b0000_1000;

    /// <summary>LSR bit 4: break interrupt, a break condition was received; cleared by reading LSR.</summary>
    public const byte LsrBreakInterruptBit = 0b0001_0000;

    /// <summary>LSR bit 5: transmitter holding register (or transmit FIFO) empty.</summary>
    public const byte LsrThrEmptyBit = 0b0010_0000;

    /// <summary>LSR bit 6: transmitter empty, THR and the shift register both idle.</summary>
    public const byte LsrTransmitterEmptyBit = 0b0100_0000;

    /// <summary>LSR bit 7: FIFO mode only, at least one error (parity, framing, break) is in the receive FIFO.</summary>
    public const byte LsrFifoErrorBit = 0b1000_0000;

    /// <summary>The LSR bits that raise a receiver line status interrupt.</summary>
    public const byte LsrErrorBits = LsrOverrunErrorBit | LsrParityErrorBit | LsrFramingErrorBit | LsrBreakInterruptBit;

    // ---- MSR -----------------------------------------------------------------------------------------

    /// <summary>MSR bit 0: CTS changed since MSR was last read.</summary>
    public const byte MsrDeltaCtsBit = 0b0000_0001;

    /// <summary>MSR bit 1: DSR changed since MSR was last read.</summary>
    public const byte MsrDeltaDsrBit = 0b0000_0010;

    /// <summary>MSR bit 2: trailing edge of RI (RI went from on to off).</summary>
    public const byte MsrTrailingEdgeRiBit = 0b0000_0100;

    /// <summary>MSR bit 3: DCD changed since MSR was last read.</summary>
    public const byte MsrDeltaDcdBit = 0b0000_1000;

    /// <summary>MSR bit 4: clear to send (loopback: RTS).</summary>
    public const byte MsrCtsBit = 0b0001_0000;

    /// <summary>MSR bit 5: data set ready (loopback: DTR).</summary>
    public const byte MsrDsrBit = 0b0010_0000;

    /// <summary>MSR bit 6: ring indicator (loopback: OUT1).</summary>
    public const byte MsrRiBit = 0b0100_0000;

    /// <summary>MSR bit 7: data carrier detect (loopback: OUT2).</summary>
    public const byte MsrDcdBit = 0b1000_0000;

    /// <summary>MSR bits 0..3: the delta bits that raise a modem status interrupt.</summary>
    public const byte MsrDeltaBits = 0b0000_1111;

    /// <summary>MSR bits 4..7: the current modem input lines.</summary>
    public const byte MsrLineBits = 0b1111_0000;

    /// <summary>
    /// The modem inputs the host side presents outside loopback: a connected, ready peer (CTS, DSR, DCD
    /// asserted, no ring), as QEMU and Firecracker present them, so that drivers waiting on CTS or DCD send.
    /// </summary>
    public const byte MsrHostLinesConnected = MsrCtsBit | MsrDsrBit | MsrDcdBit;

    // ---- Divisor -------------------------------------------------------------------------------------

    /// <summary>Divisor after reset: 12, i.e. 9600 baud from the PC's 1.8432 MHz clock (as Firecracker's vm-superio).</summary>
    public const ushort DefaultDivisor = 12;
}
