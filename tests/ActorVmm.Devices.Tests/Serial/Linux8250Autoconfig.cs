namespace ActorVmm.Devices.Tests.Serial;

/// <summary>Port types Linux's 8250 autoconfig can reach (a subset of PORT_* in serial_core.h).</summary>
internal enum Linux8250PortType
{
    NotFound,
    Unknown,
    Uart8250,
    Uart16450,
    Uart16550,
    Uart16550A,
    Uart16550AFsl64,
    Uart16650,
    Uart16650V2,
    Uart16750,
    Ns16550A,
    XScale,
    U6Uart16550A,
}

/// <summary>
/// Replays, register access by register access, what <c>autoconfig()</c> and <c>autoconfig_16550a()</c> in
/// Linux's drivers/tty/serial/8250/8250_port.c do to a port at boot (including the loopback test that Linux
/// skips only for UPF_SKIP_TEST ports, and <c>size_fifo()</c>), and returns the type Linux would assign.
/// Written from reading the driver; the decisions, not the code, are Linux's.
/// </summary>
internal sealed class Linux8250Autoconfig(Func<int, byte> read, Action<int, byte> write)
{
    // Register offsets and values under their Linux names (include/uapi/linux/serial_reg.h).
    private const int UART_RX = 0;
    private const int UART_TX = 0;
    private const int UART_DLL = 0;
    private const int UART_DLM = 1;
    private const int UART_IER = 1;
    private const int UART_IIR = 2;
    private const int UART_FCR = 2;
    private const int UART_EFR = 2;
    private const int UART_LCR = 3;
    private const int UART_MCR = 4;
    private const int UART_LSR = 5;
    private const int UART_MSR = 6;
    private const int UART_SCR = 7;
    private const byte UART_IER_LOW_NIBBLE = 0x0F;
    private const byte UART_IER_UUE = 0x40;
    private const byte UART_MCR_LOOP = 0x10;
    private const byte UART_MCR_OUT2_RTS = 0x0A;
    private const byte UART_MSR_LOOP_EXPECTED = 0x90;
    private const byte UART_MSR_LINES = 0xF0;
    private const byte UART_LCR_CONF_MODE_A = 0x80;
    private const byte UART_LCR_CONF_MODE_B = 0xBF;
    private const byte UART_LCR_NATSEMI_BANK2 = 0xE0;
    private const byte UART_LCR_WLEN8 = 0x03;
    private const byte UART_FCR_ENABLE_FIFO = 0x01;
    private const byte UART_FCR_CLEAR_RCVR = 0x02;
    private const byte UART_FCR_CLEAR_XMIT = 0x04;
    private const byte UART_FCR7_64BYTE = 0x20;
    private const byte UART_LSR_DR = 0x01;
    private const byte EfrProbeValue = 0xA8;
    private const byte ScratchPatternA = 0xA5;
    private const byte ScratchPatternB = 0x5A;
    private const int IirFifoShift = 6;
    private const int Iir64ByteShift = 5;
    private const int Ti16750WithoutDlab = 6;
    private const int Ti16750WithDlab = 7;
    private const int SizeFifoMaxBytes = 256;
    private const int U6FifoSize = 64;

    /// <summary>Bytes <c>size_fifo()</c> read back in loopback the last time it ran (-1 if it did not run).</summary>
    public int MeasuredFifoSize { get; private set; } = -1;

    public Linux8250PortType Run()
    {
        // Existence test: IER must read back 0 and then 0x0F.
        byte savedIer = read(UART_IER);
        write(UART_IER, 0);
        byte ier0 = (byte)(read(UART_IER) & UART_IER_LOW_NIBBLE);
        write(UART_IER, UART_IER_LOW_NIBBLE);
        byte ierF = (byte)(read(UART_IER) & UART_IER_LOW_NIBBLE);
        write(UART_IER, savedIer);
        if (ier0 != 0 || ierF != UART_IER_LOW_NIBBLE)
        {
            return Linux8250PortType.NotFound;
        }

        byte savedMcr = read(UART_MCR);
        byte savedLcr = read(UART_LCR);

        // Loopback test: OUT2 and RTS must come back as DCD and CTS.
        write(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2_RTS);
        byte msr = (byte)(read(UART_MSR) & UART_MSR_LINES);
        write(UART_MCR, savedMcr);
        if (msr != UART_MSR_LOOP_EXPECTED)
        {
            return Linux8250PortType.NotFound;
        }

        write(UART_LCR, UART_LCR_CONF_MODE_B);
        write(UART_EFR, 0);
        write(UART_LCR, 0);
        write(UART_FCR, UART_FCR_ENABLE_FIFO);
        var type = (read(UART_IIR) >> IirFifoShift) switch
        {
            0 => Autoconfig8250(),
            1 => Linux8250PortType.Unknown,
            2 => Linux8250PortType.Uart16550,
            _ => Autoconfig16550A(),
        };
        write(UART_LCR, savedLcr);

        // serial8250_clear_fifos + the RX read that ends autoconfig.
        write(UART_MCR, savedMcr);
        write(UART_FCR, UART_FCR_ENABLE_FIFO);
        write(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
        write(UART_FCR, 0);
        read(UART_RX);
        write(UART_IER, 0);
        return type;
    }

    private Linux8250PortType Autoconfig8250()
    {
        byte scratch = read(UART_SCR);
        write(UART_SCR, ScratchPatternA);
        byte a = read(UART_SCR);
        write(UART_SCR, ScratchPatternB);
        byte b = read(UART_SCR);
        write(UART_SCR, scratch);
        return a == ScratchPatternA && b == ScratchPatternB ? Linux8250PortType.Uart16450 : Linux8250PortType.Uart8250;
    }

    private Linux8250PortType Autoconfig16550A()
    {
        // EFR visible with DLAB set: only ST16C650V1 parts.
        write(UART_LCR, UART_LCR_CONF_MODE_A);
        if (read(UART_EFR) == 0)
        {
            write(UART_EFR, EfrProbeValue);
            Linux8250PortType result;
            if (read(UART_EFR) != 0)
            {
                result = Linux8250PortType.Uart16650;
            }
            else
            {
                write(UART_LCR, 0);
                write(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
                int iir = read(UART_IIR) >> Iir64ByteShift;
                write(UART_FCR, 0);
                write(UART_LCR, 0);
                result = iir == Ti16750WithDlab ? Linux8250PortType.Uart16550AFsl64 : Linux8250PortType.Uart16550A;
            }

            write(UART_EFR, 0);
            return result;
        }

        // EFR behind LCR = 0xBF: 16650V2 and later.
        write(UART_LCR, UART_LCR_CONF_MODE_B);
        if (read(UART_EFR) == 0)
        {
            return Linux8250PortType.Uart16650V2;
        }

        // National Semiconductor SuperIO: MCR.LOOP visible in bank 2's EXCR1.
        write(UART_LCR, 0);
        byte mcr = read(UART_MCR);
        write(UART_LCR, UART_LCR_NATSEMI_BANK2);
        byte excr1 = read(UART_IIR);
        if (((excr1 ^ mcr) & UART_MCR_LOOP) == 0)
        {
            write(UART_LCR, 0);
            write(UART_MCR, (byte)(mcr ^ UART_MCR_LOOP));
            write(UART_LCR, UART_LCR_NATSEMI_BANK2);
            excr1 = read(UART_IIR);
            write(UART_LCR, 0);
            write(UART_MCR, mcr);
            if (((excr1 ^ mcr) & UART_MCR_LOOP) != 0)
            {
                return Linux8250PortType.Ns16550A;
            }
        }

        // TI16750: IIR bit 5 follows FCR bit 5 only with DLAB set.
        write(UART_LCR, 0);
        write(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
        int withoutDlab = read(UART_IIR) >> Iir64ByteShift;
        write(UART_FCR, UART_FCR_ENABLE_FIFO);
        write(UART_LCR, UART_LCR_CONF_MODE_A);
        write(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR7_64BYTE);
        int withDlab = read(UART_IIR) >> Iir64ByteShift;
        write(UART_FCR, UART_FCR_ENABLE_FIFO);
        write(UART_LCR, 0);
        if (withoutDlab == Ti16750WithoutDlab && withDlab == Ti16750WithDlab)
        {
            return Linux8250PortType.Uart16750;
        }

        // XScale: IER bit 6 (UUE) sticks.
        byte ier = read(UART_IER);
        write(UART_IER, (byte)(ier & ~UART_IER_UUE));
        if ((read(UART_IER) & UART_IER_UUE) == 0)
        {
            write(UART_IER, (byte)(ier | UART_IER_UUE));
            if ((read(UART_IER) & UART_IER_UUE) != 0)
            {
                return Linux8250PortType.XScale;
            }
        }

        write(UART_IER, ier);
        MeasuredFifoSize = SizeFifo();
        return MeasuredFifoSize == U6FifoSize ? Linux8250PortType.U6Uart16550A : Linux8250PortType.Uart16550A;
    }

    private int SizeFifo()
    {
        byte oldLcr = read(UART_LCR);
        write(UART_LCR, 0);
        byte oldFcr = read(UART_FCR);
        byte oldMcr = read(UART_MCR);
        write(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
        write(UART_MCR, UART_MCR_LOOP);
        write(UART_LCR, UART_LCR_CONF_MODE_A);
        byte oldDll = read(UART_DLL);
        byte oldDlm = read(UART_DLM);
        write(UART_DLL, 1);
        write(UART_DLM, 0);
        write(UART_LCR, UART_LCR_WLEN8);
        for (int i = 0; i < SizeFifoMaxBytes; i++)
        {
            write(UART_TX, (byte)i);
        }

        int count = 0;
        while ((read(UART_LSR) & UART_LSR_DR) != 0 && count < SizeFifoMaxBytes)
        {
            read(UART_RX);
            count++;
        }

        write(UART_FCR, oldFcr);
        write(UART_MCR, oldMcr);
        write(UART_LCR, UART_LCR_CONF_MODE_A);
        write(UART_DLL, oldDll);
        write(UART_DLM, oldDlm);
        write(UART_LCR, oldLcr);
        return count;
    }
}
