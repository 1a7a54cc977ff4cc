using ActorVmm.Devices.Serial;
using ActorVmm.Devices.Tests.Support;
using static ActorVmm.Devices.Serial.Uart16550Registers;

namespace ActorVmm.Devices.Tests.Serial;

public sealed class Serial16550Tests
{
    private const int Com1Irq = 4;
    private const byte SampleByte = (byte)'A';
    private const byte OtherByte = (byte)'B';
    private const byte ScratchValue = 0x5A;
    private const byte DivisorLow = 0x01;
    private const byte DivisorHigh = 0x02;
    private const byte InterruptsOnPcBoard = McrOut2Bit | McrDtrBit | McrRtsBit;

    private readonly RecordingInterruptLine _irq = new(Com1Irq);
    private readonly RecordingSerialOutput _output = new();
    private readonly Serial16550 _uart;

    public Serial16550Tests()
    {
        _uart = new Serial16550(_irq, _output);
    }

    private byte Iir => (byte)(_uart.Read(IirOffset) & IirIdMask);

    [Fact]
    public void Linux_8250_autoconfig_identifies_the_uart_as_a_16550A()
    {
        var probe = new Linux8250Autoconfig(_uart.Read, _uart.Write);

        Assert.Equal(Linux8250PortType.Uart16550A, probe.Run());
        Assert.Equal(FifoDepth, probe.MeasuredFifoSize);
    }

    [Fact]
    public void Linux_8250_autoconfig_leaves_no_interrupt_asserted_and_fifos_off()
    {
        new Linux8250Autoconfig(_uart.Read, _uart.Write).Run();

        Assert.False(_irq.Level);
        Assert.False(_uart.FifoEnabled);
        Assert.Empty(_output.Bytes);
    }

    [Fact]
    public void Linux_probe_replay_finds_nothing_on_an_empty_bus()
    {
        const byte EmptyBus = 0xFF;
        var probe = new Linux8250Autoconfig(_ => EmptyBus, (_, _) => { });

        Assert.Equal(Linux8250PortType.NotFound, probe.Run());
    }

    /// <summary>serial8250_do_startup's THRE test: IER.THRI off then on must re-raise THRE each time (else UART_BUG_THRE).</summary>
    [Fact]
    public void Re_enabling_the_THRE_interrupt_raises_it_again_as_Linux_startup_expects()
    {
        _uart.Write(IerOffset, IerThrEmptyBit);
        byte first = _uart.Read(IirOffset);
        _uart.Write(IerOffset, 0);
        _uart.Write(IerOffset, IerThrEmptyBit);
        byte second = _uart.Read(IirOffset);
        _uart.Write(IerOffset, 0);

        Assert.Equal(IirThrEmpty, first & IirIdMask);
        Assert.Equal(IirThrEmpty, second & IirIdMask);
    }

    [Fact]
    public void An_empty_RBR_reads_back_the_last_byte_received()
    {
        _uart.Enqueue(SampleByte);
        _uart.Read(RbrOffset);

        Assert.Equal(SampleByte, _uart.Read(RbrOffset));
        Assert.Equal(0, _uart.Read(LsrOffset) & LsrDataReadyBit);
    }

    [Fact]
    public void THR_writes_reach_the_output_sink_immediately_in_order()
    {
        byte[] text = "hi\n"u8.ToArray();
        foreach (byte b in text)
        {
            _uart.Write(ThrOffset, b);
        }

        Assert.Equal(text, _output.Bytes);
    }

    [Fact]
    public void Line_status_reports_transmitter_empty_after_a_write()
    {
        _uart.Write(ThrOffset, SampleByte);

        byte lsr = _uart.Read(LsrOffset);
        Assert.Equal(LsrThrEmptyBit | LsrTransmitterEmptyBit, lsr & (LsrThrEmptyBit | LsrTransmitterEmptyBit));
        Assert.Equal(0, lsr & LsrDataReadyBit);
    }

    [Fact]
    public void Uart_raises_interrupt_when_data_arrives_and_IER_enabled()
    {
        _uart.Write(McrOffset, InterruptsOnPcBoard);
        _uart.Write(IerOffset, IerReceivedDataBit);
        Assert.False(_irq.Level);

        Assert.True(_uart.Enqueue(SampleByte));

        Assert.True(_irq.Level);
        Assert.Equal(IirReceivedDataAvailable, Iir);
        Assert.Equal(LsrDataReadyBit, _uart.Read(LsrOffset) & LsrDataReadyBit);
    }

    [Fact]
    public void Reading_RBR_returns_bytes_in_order_and_drops_the_interrupt_when_empty()
    {
        _uart.Write(McrOffset, InterruptsOnPcBoard);
        _uart.Write(IerOffset, IerReceivedDataBit);
        _uart.Enqueue(SampleByte);
        Assert.True(_irq.Level);

        Assert.Equal(SampleByte, _uart.Read(RbrOffset));

        Assert.False(_irq.Level);
        Assert.Equal(IirNoInterruptPending, Iir);
        Assert.Equal(0, _uart.Read(LsrOffset) & LsrDataReadyBit);
    }

    [Fact]
    public void Interrupt_stays_low_without_OUT2_on_a_PC_board()
    {
        _uart.Write(IerOffset, IerReceivedDataBit);
        _uart.Enqueue(SampleByte);

        Assert.Equal(IirReceivedDataAvailable, Iir);
        Assert.False(_irq.Level);

        _uart.Write(McrOffset, McrOut2Bit);
        Assert.True(_irq.Level);
    }

    [Fact]
    public void Directly_wired_uart_interrupts_without_OUT2()
    {
        var irq = new RecordingInterruptLine();
        var uart = new Serial16550(irq, _output, out2GatesInterrupt: false);
        uart.Write(IerOffset, IerReceivedDataBit);

        uart.Enqueue(SampleByte);

        Assert.True(irq.Level);
    }

    [Fact]
    public void Enabling_THRE_interrupt_raises_it_at_once_and_reading_IIR_clears_it()
    {
        _uart.Write(McrOffset, InterruptsOnPcBoard);

        _uart.Write(IerOffset, IerThrEmptyBit);

        Assert.True(_irq.Level);
        Assert.Equal(IirThrEmpty, Iir);
        Assert.False(_irq.Level);
        Assert.Equal(IirNoInterruptPending, Iir);
    }

    [Fact]
    public void Each_THR_write_gives_the_PIC_a_fresh_THRE_edge()
    {
        _uart.Write(McrOffset, InterruptsOnPcBoard);
        _uart.Write(IerOffset, IerThrEmptyBit);
        int edgesBefore = _irq.RisingEdges;

        _uart.Write(ThrOffset, SampleByte);
        _uart.Write(ThrOffset, OtherByte);

        Assert.Equal(edgesBefore + 2, _irq.RisingEdges);
        Assert.Equal(IirThrEmpty, Iir);
    }

    [Fact]
    public void IIR_reports_line_status_then_data_then_THRE_then_modem_status()
    {
        _uart.Write(FcrOffset, FcrEnableFifoBit);
        _uart.Write(IerOffset, IerReceivedDataBit | IerThrEmptyBit | IerLineStatusBit | IerModemStatusBit);
        _uart.Write(McrOffset, McrLoopBit);               // modem lines change: MSR delta bits set
        _uart.Write(McrOffset, 0);                        // back out of loopback, deltas still pending
        for (int i = 0; i <= FifoDepth; i++)
        {
            _uart.Enqueue(SampleByte);                    // one too many: overrun
        }

        Assert.Equal(IirReceiverLineStatus, Iir);
        _uart.Read(LsrOffset);                            // clears OE
        Assert.Equal(IirReceivedDataAvailable, Iir);
        while ((_uart.Read(LsrOffset) & LsrDataReadyBit) != 0)
        {
            _uart.Read(RbrOffset);
        }

        Assert.Equal(IirThrEmpty, Iir);                   // reading IIR clears THRE
        Assert.Equal(IirModemStatus, Iir);
        _uart.Read(MsrOffset);                            // clears the deltas
        Assert.Equal(IirNoInterruptPending, Iir);
    }

    [Theory]
    [InlineData(FcrTrigger1, 1)]
    [InlineData(FcrTrigger4, 4)]
    [InlineData(FcrTrigger8, 8)]
    [InlineData(FcrTrigger14, 14)]
    public void Fifo_reports_timeout_below_the_trigger_level_and_data_available_at_it(byte trigger, int level)
    {
        _uart.Write(FcrOffset, (byte)(FcrEnableFifoBit | trigger));
        _uart.Write(IerOffset, IerReceivedDataBit);
        Assert.Equal(level, _uart.ReceiveTriggerLevel);

        for (int i = 0; i < level - 1; i++)
        {
            _uart.Enqueue(SampleByte);
        }

        if (level > 1)
        {
            Assert.Equal(IirCharacterTimeout, Iir);
        }

        _uart.Enqueue(SampleByte);
        Assert.Equal(IirReceivedDataAvailable, Iir);
    }

    [Fact]
    public void IIR_has_the_fifo_bits_only_while_fifos_are_enabled()
    {
        Assert.Equal(0, _uart.Read(IirOffset) & IirFifoEnabledBits);

        _uart.Write(FcrOffset, FcrEnableFifoBit);
        Assert.Equal(IirFifoEnabledBits, _uart.Read(IirOffset) & IirFifoEnabledBits);

        _uart.Write(FcrOffset, 0);
        Assert.Equal(0, _uart.Read(IirOffset) & IirFifoEnabledBits);
    }

    [Fact]
    public void Fifo_overrun_keeps_the_first_sixteen_bytes_sets_OE_and_raises_line_status_interrupt()
    {
        _uart.Write(FcrOffset, FcrEnableFifoBit);
        _uart.Write(IerOffset, IerLineStatusBit);
        _uart.Write(McrOffset, InterruptsOnPcBoard);
        for (int i = 0; i < FifoDepth; i++)
        {
            Assert.True(_uart.Enqueue((byte)i));
        }

        Assert.False(_uart.Enqueue(OtherByte));

        Assert.True(_irq.Level);
        Assert.Equal(1, _uart.OverrunCount);
        byte lsr = _uart.Read(LsrOffset);
        Assert.Equal(LsrOverrunErrorBit, lsr & LsrOverrunErrorBit);
        Assert.Equal(0, _uart.Read(LsrOffset) & LsrOverrunErrorBit);
        for (int i = 0; i < FifoDepth; i++)
        {
            Assert.Equal((byte)i, _uart.Read(RbrOffset));
        }
    }

    [Fact]
    public void Without_fifos_the_uart_holds_one_byte_and_overrun_overwrites_it()
    {
        Assert.True(_uart.Enqueue(SampleByte));
        Assert.False(_uart.Enqueue(OtherByte));

        Assert.Equal(LsrOverrunErrorBit | LsrDataReadyBit, _uart.Read(LsrOffset) & (LsrOverrunErrorBit | LsrDataReadyBit));
        Assert.Equal(OtherByte, _uart.Read(RbrOffset));
        Assert.Equal(0, _uart.Read(LsrOffset) & LsrDataReadyBit);
    }

    [Fact]
    public void EnqueueRange_accepts_only_what_fits_and_never_overruns()
    {
        _uart.Write(FcrOffset, FcrEnableFifoBit);
        byte[] input = new byte[FifoDepth + 4];

        int accepted = _uart.EnqueueRange(input);

        Assert.Equal(FifoDepth, accepted);
        Assert.Equal(0, _uart.ReceiveSpace);
        Assert.Equal(0, _uart.OverrunCount);
        Assert.Equal(0, _uart.Read(LsrOffset) & LsrOverrunErrorBit);
    }

    [Fact]
    public void Guest_emptying_the_fifo_raises_ReceiveSpaceAvailable()
    {
        int raised = 0;
        _uart.ReceiveSpaceAvailable += () => raised++;
        _uart.Write(FcrOffset, FcrEnableFifoBit);
        _uart.EnqueueRange([SampleByte, OtherByte]);

        _uart.Read(RbrOffset);
        Assert.Equal(0, raised);
        _uart.Read(RbrOffset);
        Assert.Equal(1, raised);
    }

    [Theory]
    [InlineData(McrDtrBit, MsrDsrBit)]
    [InlineData(McrRtsBit, MsrCtsBit)]
    [InlineData(McrOut1Bit, MsrRiBit)]
    [InlineData(McrOut2Bit, MsrDcdBit)]
    public void Loopback_mirrors_each_modem_output_into_its_modem_input(byte mcrBit, byte msrBit)
    {
        _uart.Write(McrOffset, (byte)(McrLoopBit | mcrBit));

        Assert.Equal(msrBit, _uart.Read(MsrOffset) & MsrLineBits);
    }

    [Fact]
    public void Outside_loopback_the_host_side_presents_a_connected_peer()
    {
        Assert.Equal(MsrHostLinesConnected, _uart.Read(MsrOffset) & MsrLineBits);
    }

    [Fact]
    public void Loopback_sends_THR_to_RBR_and_not_to_the_output()
    {
        _uart.Write(McrOffset, McrLoopBit);

        _uart.Write(ThrOffset, SampleByte);

        Assert.Empty(_output.Bytes);
        Assert.Equal(SampleByte, _uart.Read(RbrOffset));
    }

    [Fact]
    public void Loopback_disconnects_host_input()
    {
        _uart.Write(McrOffset, McrLoopBit);

        Assert.False(_uart.Enqueue(SampleByte));
        Assert.Equal(0, _uart.EnqueueRange([SampleByte]));
        Assert.Equal(0, _uart.ReceiveCount);
    }

    [Fact]
    public void Modem_line_changes_set_delta_bits_and_raise_modem_status_interrupt()
    {
        var irq = new RecordingInterruptLine();
        var uart = new Serial16550(irq, _output, out2GatesInterrupt: false);
        uart.Write(IerOffset, IerModemStatusBit);

        uart.Write(McrOffset, (byte)(McrLoopBit | McrOut1Bit));   // CTS, DSR, DCD drop; RI rises
        Assert.True(irq.Level);
        Assert.Equal(MsrDeltaCtsBit | MsrDeltaDsrBit | MsrDeltaDcdBit, uart.Read(MsrOffset) & MsrDeltaBits);
        Assert.False(irq.Level);

        uart.Write(McrOffset, McrLoopBit);                        // RI falls: trailing edge
        Assert.Equal(MsrTrailingEdgeRiBit, uart.Read(MsrOffset) & MsrDeltaBits);
    }

    [Fact]
    public void Scratch_register_holds_what_was_written()
    {
        _uart.Write(ScrOffset, ScratchValue);

        Assert.Equal(ScratchValue, _uart.Read(ScrOffset));
    }

    [Fact]
    public void DLAB_exposes_the_divisor_latch_without_touching_IER()
    {
        _uart.Write(IerOffset, IerReceivedDataBit);
        _uart.Write(LcrOffset, LcrDlabBit);
        _uart.Write(DllOffset, DivisorLow);
        _uart.Write(DlmOffset, DivisorHigh);

        Assert.Equal(DivisorLow, _uart.Read(DllOffset));
        Assert.Equal(DivisorHigh, _uart.Read(DlmOffset));
        Assert.Empty(_output.Bytes);

        _uart.Write(LcrOffset, Lcr8N1);
        Assert.Equal(IerReceivedDataBit, _uart.Read(IerOffset));
        Assert.Equal((DivisorHigh << 8) | DivisorLow, _uart.Divisor);
    }

    [Fact]
    public void IER_and_MCR_keep_only_the_bits_a_16550A_implements()
    {
        _uart.Write(IerOffset, 0xFF);
        _uart.Write(McrOffset, McrWritableMask);
        _uart.Write(McrOffset, 0xFF);

        Assert.Equal(IerWritableMask, _uart.Read(IerOffset));
        Assert.Equal(McrWritableMask, _uart.Read(McrOffset));
    }

    [Fact]
    public void FCR_clear_receive_discards_pending_bytes()
    {
        _uart.Write(FcrOffset, FcrEnableFifoBit);
        _uart.EnqueueRange([SampleByte, OtherByte]);

        _uart.Write(FcrOffset, FcrEnableFifoBit | FcrClearReceiveBit);

        Assert.Equal(0, _uart.ReceiveCount);
        Assert.Equal(0, _uart.Read(LsrOffset) & LsrDataReadyBit);
    }

    [Fact]
    public void Writes_to_read_only_LSR_and_MSR_are_ignored()
    {
        _uart.Write(LsrOffset, 0);
        _uart.Write(MsrOffset, 0);

        Assert.Equal(LsrThrEmptyBit | LsrTransmitterEmptyBit, _uart.Read(LsrOffset));
        Assert.Equal(MsrHostLinesConnected, _uart.Read(MsrOffset));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(RegisterCount)]
    [InlineData(int.MaxValue)]
    public void Offsets_outside_the_register_file_read_as_empty_bus_and_ignore_writes(int offset)
    {
        _uart.Write(offset, SampleByte);

        Assert.Equal(0xFF, _uart.Read(offset));
        Assert.Empty(_output.Bytes);
    }

    [Fact]
    public void Break_sets_BI_queues_a_zero_byte_and_raises_line_status_interrupt()
    {
        _uart.Write(IerOffset, IerLineStatusBit);

        _uart.ReceiveBreak();

        Assert.Equal(IirReceiverLineStatus, Iir);
        Assert.Equal(LsrBreakInterruptBit | LsrDataReadyBit, _uart.Read(LsrOffset) & (LsrBreakInterruptBit | LsrDataReadyBit));
        Assert.Equal(0, _uart.Read(RbrOffset));
    }

    [Fact]
    public void Reset_restores_power_on_registers_and_drops_the_interrupt()
    {
        _uart.Write(McrOffset, InterruptsOnPcBoard);
        _uart.Write(IerOffset, IerReceivedDataBit);
        _uart.Write(ScrOffset, ScratchValue);
        _uart.Enqueue(SampleByte);
        Assert.True(_irq.Level);

        _uart.Reset();

        Assert.False(_irq.Level);
        Assert.Equal(0, _uart.Read(IerOffset));
        Assert.Equal(0, _uart.Read(McrOffset));
        Assert.Equal(0, _uart.Read(ScrOffset));
        Assert.Equal(0, _uart.ReceiveCount);
        Assert.Equal(DefaultDivisor, _uart.Divisor);
    }
}
