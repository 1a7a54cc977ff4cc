using ActorVmm.Devices.Serial;
using ActorVmm.Devices.Tests.Support;
using static ActorVmm.Devices.Serial.Uart16550Registers;

namespace ActorVmm.Devices.Tests.Serial;

/// <summary>The transmitter when the host console cannot keep up: busy like a slow line, never growing host memory.</summary>
public sealed class Serial16550TransmitTests
{
    private const int Com1Irq = 4;
    private const byte SampleByte = (byte)'A';
    private const byte TransmitterIdle = LsrThrEmptyBit | LsrTransmitterEmptyBit;

    private readonly RecordingInterruptLine _irq = new(Com1Irq);
    private readonly StallableOutput _output = new();
    private readonly Serial16550 _uart;
    private int _spaceSignals;

    public Serial16550TransmitTests()
    {
        _uart = new Serial16550(_irq, _output);
        _uart.TransmitSpaceAvailable += () => _spaceSignals++;
    }

    private byte TransmitterStatus => (byte)(_uart.Read(LsrOffset) & TransmitterIdle);

    private byte Iir => (byte)(_uart.Read(IirOffset) & IirIdMask);

    [Fact]
    public void A_byte_written_while_the_console_is_full_stays_in_the_transmitter_with_thre_and_temt_clear()
    {
        _output.Full = true;

        _uart.Write(ThrOffset, SampleByte);

        Assert.Equal(0, TransmitterStatus);
        Assert.Equal(1, _uart.TransmitCount);
        Assert.Empty(_output.Bytes);
    }

    [Fact]
    public void Once_the_console_has_room_the_uart_sends_the_held_byte_sets_thre_and_raises_its_interrupt()
    {
        _uart.Write(McrOffset, McrOut2Bit);
        _uart.Write(IerOffset, IerThrEmptyBit);
        Assert.Equal(IirThrEmpty, Iir);
        _output.Full = true;
        _uart.Write(ThrOffset, SampleByte);
        Assert.False(_irq.Level);
        int edges = _irq.RisingEdges;

        _output.Release();
        Assert.Equal(1, _spaceSignals);
        Assert.Equal(0, TransmitterStatus);
        _uart.ResumeTransmit();

        Assert.Equal([SampleByte], _output.Bytes);
        Assert.Equal(TransmitterIdle, TransmitterStatus);
        Assert.True(_irq.Level);
        Assert.Equal(edges + 1, _irq.RisingEdges);
        Assert.Equal(IirThrEmpty, Iir);
    }

    [Fact]
    public void Resuming_while_the_console_is_still_full_keeps_the_bytes_and_waits_for_the_next_signal()
    {
        _output.Full = true;
        _uart.Write(ThrOffset, SampleByte);

        _uart.ResumeTransmit();

        Assert.Equal(0, TransmitterStatus);
        Assert.Empty(_output.Bytes);
        _output.Release();
        Assert.Equal(1, _spaceSignals);
    }

    [Fact]
    public void With_fifos_on_the_transmitter_holds_a_fifo_of_bytes_in_order_and_a_write_beyond_it_is_lost()
    {
        _uart.Write(FcrOffset, FcrEnableFifoBit);
        _output.Full = true;
        byte[] sent = [.. Enumerable.Range(0, FifoDepth + 1).Select(i => (byte)('a' + i))];

        foreach (byte b in sent)
        {
            _uart.Write(ThrOffset, b);
        }

        Assert.Equal(FifoDepth, _uart.TransmitCount);
        Assert.Equal(1, _uart.TransmitOverrunCount);
        _output.Release();
        _uart.ResumeTransmit();
        Assert.Equal(sent[..FifoDepth], _output.Bytes);
    }

    [Fact]
    public void With_fifos_off_the_transmitter_holds_one_byte_as_the_16450_thr_does()
    {
        _output.Full = true;

        _uart.Write(ThrOffset, SampleByte);
        _uart.Write(ThrOffset, SampleByte);

        Assert.Equal(1, _uart.TransmitCount);
        Assert.Equal(1, _uart.TransmitOverrunCount);
    }

    [Fact]
    public void Clearing_the_transmit_fifo_drops_the_held_bytes_and_raises_thre()
    {
        _uart.Write(FcrOffset, FcrEnableFifoBit);
        _uart.Write(McrOffset, McrOut2Bit);
        _uart.Write(IerOffset, IerThrEmptyBit);
        _output.Full = true;
        _uart.Write(ThrOffset, SampleByte);
        Assert.False(_irq.Level);

        _uart.Write(FcrOffset, FcrEnableFifoBit | FcrClearTransmitBit);

        Assert.Equal(TransmitterIdle, TransmitterStatus);
        Assert.True(_irq.Level);
        Assert.Equal(0, _uart.TransmitCount);
    }

    [Fact]
    public void Enabling_the_thre_interrupt_while_bytes_are_held_does_not_raise_it()
    {
        _uart.Write(McrOffset, McrOut2Bit);
        _output.Full = true;
        _uart.Write(ThrOffset, SampleByte);

        _uart.Write(IerOffset, IerThrEmptyBit);

        Assert.False(_irq.Level);
        Assert.Equal(IirNoInterruptPending, Iir);
    }

    [Fact]
    public void Bytes_written_in_loopback_are_received_not_held_even_while_the_console_is_full()
    {
        _uart.Write(McrOffset, McrLoopBit);
        _output.Full = true;

        _uart.Write(ThrOffset, SampleByte);

        Assert.Equal(TransmitterIdle, TransmitterStatus);
        Assert.Equal(SampleByte, _uart.Read(RbrOffset));
    }
}
