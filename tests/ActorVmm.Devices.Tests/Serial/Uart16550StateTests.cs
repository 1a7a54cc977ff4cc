using ActorVmm.Devices.Serial;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Traps;
using FsCheck.Xunit;
using static ActorVmm.Devices.Serial.Uart16550Registers;

namespace ActorVmm.Devices.Tests.Serial;

/// <summary>Capturing a 16550A's guest-visible state and rebuilding a UART from it (restart after a failure).</summary>
public sealed class Uart16550StateTests
{
    private const int Com1Irq = 4;
    private const int OperationKinds = 7;
    private const int ReadOperation = 0;
    private const int WriteOperation = 1;
    private const int EnqueueOperation = 2;
    private const int BreakOperation = 3;
    private const int StallOperation = 4;
    private const int ReleaseOperation = 5;
    private const int VcpuId = 0;
    private const ushort Divisor115200 = 1;
    private const byte InterruptsOnPcBoard = McrOut2Bit | McrDtrBit | McrRtsBit;

    /// <summary>
    /// Any guest and host traffic, then capture and rebuild: the rebuilt UART has the same state, drives its line to the
    /// same level, and answers every later access (reads, interrupt levels and edges, transmitted bytes) as the original.
    /// </summary>
    [Property(MaxTest = 300)]
    public bool A_rebuilt_uart_behaves_exactly_as_the_one_it_was_captured_from((int Kind, int Offset, byte Value)[] before, (int Kind, int Offset, byte Value)[] after)
    {
        var original = new Rig(state: null);
        foreach (var operation in before ?? [])
        {
            original.Apply(operation);
        }

        var state = original.Uart.CaptureState();
        var rebuilt = new Rig(state);
        rebuilt.Output.Full = original.Output.Full;
        int originalOutputAtCapture = original.Output.Bytes.Count;
        if (!state.Equals(rebuilt.Uart.CaptureState()) || rebuilt.Irq.Level != original.Irq.Level)
        {
            return false;
        }

        foreach (var operation in after ?? [])
        {
            int originalEdges = original.Irq.RisingEdges;
            int rebuiltEdges = rebuilt.Irq.RisingEdges;
            if (original.Apply(operation) != rebuilt.Apply(operation)
                || original.Irq.Level != rebuilt.Irq.Level
                || original.Irq.RisingEdges - originalEdges != rebuilt.Irq.RisingEdges - rebuiltEdges)
            {
                return false;
            }
        }

        return original.Output.Bytes.Skip(originalOutputAtCapture).SequenceEqual(rebuilt.Output.Bytes)
            && original.Uart.CaptureState().Equals(rebuilt.Uart.CaptureState());
    }

    /// <summary>The acceptance test: after a failure mid-session the guest keeps its programming and its receive interrupts.</summary>
    [Fact]
    public void A_uart_that_fails_mid_session_keeps_its_divisor_lcr_and_ier_so_the_guest_keeps_getting_receive_interrupts()
    {
        var spec = SerialPortSpec.Com1;
        var irq = new RecordingInterruptLine(spec.Irq);
        var environment = new DeviceEnvironment("vm", (_, _) => irq, TimeProvider.System, new RecordingSerialOutput(), new RecordingPowerRequests(), TestDeviceContext.NoDma);
        var input = new GuestInputQueue();
        var mailbox = new RecordingMailbox();
        var first = new SerialConsoleDevice(spec, new DeviceContext(spec.Name, environment, mailbox, input));
        Out(first, spec, LcrOffset, LcrDlabBit);
        Out(first, spec, DllOffset, (byte)Divisor115200);
        Out(first, spec, DlmOffset, Divisor115200 >> 8);
        Out(first, spec, LcrOffset, Lcr8N1);
        Out(first, spec, FcrOffset, FcrEnableFifoBit | FcrTrigger1);
        Out(first, spec, IerOffset, IerReceivedDataBit);
        Out(first, spec, McrOffset, InterruptsOnPcBoard);
        var captured = first.CaptureState();

        // The supervisor rebuilds the device from what it captured; host input then arrives.
        var second = new SerialConsoleDevice(spec, new DeviceContext(spec.Name, environment, mailbox, input, captured));
        input.Add("k"u8);
        second.OnInputAvailable();

        Assert.True(irq.Level);
        Assert.Equal(IirReceivedDataAvailable, In(second, spec, IirOffset) & IirIdMask);
        Assert.Equal(IerReceivedDataBit, In(second, spec, IerOffset));
        Assert.Equal(Lcr8N1, In(second, spec, LcrOffset));
        Out(second, spec, LcrOffset, Lcr8N1 | LcrDlabBit);
        Assert.Equal(Divisor115200, In(second, spec, DllOffset) | (In(second, spec, DlmOffset) << 8));
        Out(second, spec, LcrOffset, Lcr8N1);
        Assert.Equal((byte)'k', In(second, spec, RbrOffset));
        Assert.False(irq.Level);
    }

    [Fact]
    public void A_console_uart_rebuilt_with_bytes_in_its_transmitter_sends_them_from_its_slow_path()
    {
        var spec = SerialPortSpec.Com1;
        var output = new StallableOutput { Full = true };
        var environment = new DeviceEnvironment("vm", (_, _) => new RecordingInterruptLine(spec.Irq), TimeProvider.System, output, new RecordingPowerRequests(), TestDeviceContext.NoDma);
        var input = new GuestInputQueue();
        var mailbox = new RecordingMailbox();
        var first = new SerialConsoleDevice(spec, new DeviceContext(spec.Name, environment, mailbox, input));
        Out(first, spec, ThrOffset, (byte)'z');
        var captured = Assert.IsType<Uart16550State>(first.CaptureState());
        Assert.Equal([(byte)'z'], captured.TransmitFifo.ToArray());
        output.Full = false;
        mailbox.Posted.Clear();

        var second = new SerialConsoleDevice(spec, new DeviceContext(spec.Name, environment, mailbox, input, captured));
        object signal = Assert.Single(mailbox.Posted);
        Assert.Null(second.OnSlowPath(signal));

        Assert.Equal([(byte)'z'], output.Bytes);
        Assert.Equal(LsrThrEmptyBit | LsrTransmitterEmptyBit, In(second, spec, LsrOffset) & (LsrThrEmptyBit | LsrTransmitterEmptyBit));
    }

    [Fact]
    public void A_state_of_another_device_is_refused()
    {
        var spec = SerialPortSpec.Com1;
        var environment = new DeviceEnvironment("vm", (_, _) => new RecordingInterruptLine(spec.Irq), TimeProvider.System, new RecordingSerialOutput(), new RecordingPowerRequests(), TestDeviceContext.NoDma);

        Assert.Throws<DeviceStateException>(() => new SerialConsoleDevice(spec, new DeviceContext(spec.Name, environment, new RecordingMailbox(), new GuestInputQueue(), new OtherDeviceState())));
    }

    public static TheoryData<string> CorruptionNames() => [.. Corruptions.Keys];

    [Theory]
    [MemberData(nameof(CorruptionNames))]
    public void A_corrupt_state_is_rejected_and_no_uart_is_built_from_it(string corruption)
    {
        var valid = new Serial16550(new RecordingInterruptLine(Com1Irq), new RecordingSerialOutput()).CaptureState();
        var corrupt = Corruptions[corruption](valid);
        valid.Validate();

        Assert.Throws<DeviceStateException>(corrupt.Validate);
        Assert.Throws<DeviceStateException>(() => new Serial16550(new RecordingInterruptLine(Com1Irq), new RecordingSerialOutput(), state: corrupt));
    }

    private static readonly Dictionary<string, Func<Uart16550State, Uart16550State>> Corruptions = new()
    {
        ["IER bits a 16550A lacks"] = s => s with { InterruptEnable = unchecked((byte)~IerWritableMask) },
        ["MCR bits a 16550A lacks"] = s => s with { ModemControl = unchecked((byte)~McrWritableMask) },
        ["a trigger level FCR cannot select"] = s => s with { ReceiveTriggerLevel = 3 },
        ["a status bit among the line errors"] = s => s with { LineErrors = LsrThrEmptyBit },
        ["a modem line among the deltas"] = s => s with { ModemDeltas = MsrCtsBit },
        ["two bytes in RBR with FIFOs off"] = s => s with { FifoEnabled = false, ReceiveFifo = [1, 2] },
        ["more than a FIFO of held bytes"] = s => s with { FifoEnabled = true, TransmitFifo = [.. new byte[FifoDepth + 1]] },
        ["THRE pending while bytes are held"] = s => s with { ThrEmptyInterruptPending = true, TransmitFifo = [1] },
        ["no receive FIFO at all"] = s => s with { ReceiveFifo = default },
    };

    private static void Out(IDevice device, SerialPortSpec spec, int offset, byte value)
    {
        Span<byte> data = [value];
        device.HandleTrap(0, new TrapAccess(VcpuId, spec.Bus, spec.Base + (ulong)offset, (ulong)offset, TrapDirection.Write, data));
    }

    private static byte In(IDevice device, SerialPortSpec spec, int offset)
    {
        Span<byte> data = [0];
        device.HandleTrap(0, new TrapAccess(VcpuId, spec.Bus, spec.Base + (ulong)offset, (ulong)offset, TrapDirection.Read, data));
        return data[0];
    }

    private sealed record OtherDeviceState : DeviceState
    {
        public override void Validate()
        {
        }
    }

    /// <summary>A UART with its line and a console output the traffic can stall and release.</summary>
    private sealed class Rig
    {
        public Rig(Uart16550State? state)
        {
            Uart = new Serial16550(Irq, Output, out2GatesInterrupt: true, state);
        }

        public RecordingInterruptLine Irq { get; } = new(Com1Irq);

        public StallableOutput Output { get; } = new();

        public Serial16550 Uart { get; }

        /// <summary>Applies one access; returns what a read returned or what an enqueue reported (-1 otherwise).</summary>
        public int Apply((int Kind, int Offset, byte Value) operation)
        {
            var (kind, offset, value) = operation;
            int register = Math.Abs(offset % (RegisterCount + 1));
            switch (Math.Abs(kind % OperationKinds))
            {
                case ReadOperation: return Uart.Read(register);
                case WriteOperation: Uart.Write(register, value); return -1;
                case EnqueueOperation: return Uart.Enqueue(value) ? 1 : 0;
                case BreakOperation: Uart.ReceiveBreak(); return -1;
                case StallOperation: Output.Full = true; return -1;
                case ReleaseOperation: Output.Release(); return -1;
                default: Uart.ResumeTransmit(); return Uart.TransmitCount;
            }
        }
    }
}
