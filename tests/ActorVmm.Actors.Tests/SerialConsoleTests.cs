using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Devices;
using ActorVmm.Devices.Serial;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestSupport;
using Xunit.Abstractions;
using static ActorVmm.Devices.Serial.Uart16550Registers;

namespace ActorVmm.Actors.Tests;

/// <summary>The real 16550A wrapped by the device contract: output to the sink, input with flow control.</summary>
public sealed class SerialConsoleTests(ITestOutputHelper output) : ActorVmmTestKit(output), IDisposable
{
    private const ulong MemorySize = 64 * 1024;
    private const int TypedBytes = 3 * Uart16550Registers.FifoDepth;

    private readonly FakeVirtualMachine _vm = new(new VmSpec("serial", MemorySize), _ => VcpuExit.Halted);

    void IDisposable.Dispose() => _vm.Dispose();

    [Fact]
    public void Host_input_longer_than_the_receiver_reaches_the_guest_complete_and_in_order_through_the_uart()
    {
        var com1 = SerialPortSpec.Com1;
        var supervisor = Sys.ActorOf(DeviceSupervisor.Props(_vm.Dispatcher, _vm.Traps.ClaimWriter(), DeviceEnvironments.For(_vm)));
        supervisor.Tell(new SupervisorProtocol.AddDevice(SerialConsoleDevice.Definition(com1)), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);
        byte[] typed = [.. Enumerable.Range(0, TypedBytes).Select(i => (byte)('A' + (i % 26)))];

        supervisor.Tell(new SupervisorProtocol.SendToDevice(com1.Name, new ConsoleProtocol.Input(typed)), TestActor);

        var received = new List<byte>();
        AwaitAssert(() =>
        {
            while ((Read(com1.Base + Uart16550Registers.LsrOffset) & Uart16550Registers.LsrDataReadyBit) != 0)
            {
                received.Add(Read(com1.Base + Uart16550Registers.RbrOffset));
            }

            Assert.Equal(typed, received);
        }, Patience);
    }

    [Fact]
    public void Guest_writes_to_the_uart_transmitter_arrive_at_the_console_sink()
    {
        var com1 = SerialPortSpec.Com1;
        var collected = new CollectingOutput();
        var supervisor = Sys.ActorOf(DeviceSupervisor.Props(_vm.Dispatcher, _vm.Traps.ClaimWriter(), DeviceEnvironments.For(_vm, output: collected)));
        supervisor.Tell(new SupervisorProtocol.AddDevice(SerialConsoleDevice.Definition(com1)), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);
        byte[] text = "uart ok\n"u8.ToArray();

        foreach (byte b in text)
        {
            _vm.Dispatcher.Dispatch(0, TrapBus.Pio, com1.Base + Uart16550Registers.ThrOffset, TrapDirection.Write, [b]);
        }

        Assert.Equal(text, collected.Bytes);
    }

    [Fact]
    public void A_stalled_console_keeps_the_transmitter_busy_and_the_uart_completes_the_byte_with_a_thre_interrupt_once_it_drains()
    {
        const int ConsoleCapacity = 32;
        var com1 = SerialPortSpec.Com1;
        var irq = new IrqLineProbe(com1.Irq);
        using var terminal = new GatedStream();
        var console = new GuestOutputBuffer(ConsoleCapacity);
        var sink = Sys.ActorOf(ConsoleSinkActor.Props(new ConsoleTarget("stalled", () => terminal), console));
        var environment = new DeviceEnvironment(_vm.Name, (_, _) => irq, TimeProvider.System, console, new RecordingPower(), new GuestDma(_vm.Memory));
        var supervisor = Sys.ActorOf(DeviceSupervisor.Props(_vm.Dispatcher, _vm.Traps.ClaimWriter(), environment));
        supervisor.Tell(new SupervisorProtocol.AddDevice(SerialConsoleDevice.Definition(com1)), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);
        Write(com1.Base + McrOffset, McrOut2Bit);
        Write(com1.Base + IerOffset, IerThrEmptyBit);
        byte[] printed = [.. Enumerable.Range(0, ConsoleCapacity + 1).Select(i => (byte)('a' + (i % 26)))];

        // The terminal takes nothing: the console fills, and the byte after it stays in the UART.
        foreach (byte b in printed)
        {
            Assert.Equal(LsrThrEmptyBit | LsrTransmitterEmptyBit, Read(com1.Base + LsrOffset) & (LsrThrEmptyBit | LsrTransmitterEmptyBit));
            Write(com1.Base + ThrOffset, b);
        }

        Assert.Equal(0, Read(com1.Base + LsrOffset) & (LsrThrEmptyBit | LsrTransmitterEmptyBit));
        Assert.False(irq.Level);
        int edgesWhileBusy = irq.RisingEdges;

        terminal.Open();

        AwaitAssert(() =>
        {
            Assert.True(irq.Level);
            Assert.Equal(edgesWhileBusy + 1, irq.RisingEdges);
            Assert.Equal(IirThrEmpty, ReadIirId(com1));
        }, Patience);
        Assert.Equal(LsrThrEmptyBit | LsrTransmitterEmptyBit, Read(com1.Base + LsrOffset) & (LsrThrEmptyBit | LsrTransmitterEmptyBit));
        sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);
        Assert.Equal(0, ExpectMsg<ConsoleProtocol.Flushed>(Patience).PendingBytes);
        Assert.Equal(printed, terminal.Bytes);
    }

    [Fact]
    public void Input_beyond_the_bounded_queue_is_accepted_only_as_the_guest_reads_it_and_arrives_complete_in_order()
    {
        const int Chunks = 4;
        var com1 = SerialPortSpec.Com1;
        var supervisor = Sys.ActorOf(DeviceSupervisor.Props(_vm.Dispatcher, _vm.Traps.ClaimWriter(), DeviceEnvironments.For(_vm)));
        supervisor.Tell(new SupervisorProtocol.AddDevice(SerialConsoleDevice.Definition(com1)), TestActor);
        ExpectMsg<SupervisorProtocol.DeviceAdded>(Patience);
        Write(com1.Base + FcrOffset, FcrEnableFifoBit);
        byte[] typed = [.. Enumerable.Range(0, Chunks * GuestInputQueue.DefaultCapacity).Select(i => (byte)(i ^ (i >> 8)))];

        for (int c = 0; c < Chunks; c++)
        {
            var chunk = typed.AsMemory(c * GuestInputQueue.DefaultCapacity, GuestInputQueue.DefaultCapacity);
            supervisor.Tell(new SupervisorProtocol.SendToDevice(com1.Name, new ConsoleProtocol.Input(chunk)), TestActor);
        }

        // The queue holds one chunk: the first is accepted, the rest wait for the guest.
        ExpectMsg<ConsoleProtocol.InputAccepted>(Patience);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        // The guest reads like a polling driver; each drained FIFO lets the device actor move more in.
        var received = new List<byte>();
        var reading = System.Diagnostics.Stopwatch.StartNew();
        while (received.Count < typed.Length && reading.Elapsed < Patience)
        {
            if ((Read(com1.Base + LsrOffset) & LsrDataReadyBit) != 0)
            {
                received.Add(Read(com1.Base + RbrOffset));
            }
            else
            {
                Thread.Yield();
            }
        }

        Assert.Equal(typed, received);
        Assert.All(ReceiveN(Chunks - 1, Patience), m => Assert.IsType<ConsoleProtocol.InputAccepted>(m));
    }

    private void Write(ulong port, byte value) => _vm.Dispatcher.Dispatch(0, TrapBus.Pio, port, TrapDirection.Write, [value]);

    private byte ReadIirId(SerialPortSpec spec) => (byte)(Read(spec.Base + IirOffset) & IirIdMask);

    private byte Read(ulong port)
    {
        Span<byte> data = [0];
        _vm.Dispatcher.Dispatch(0, TrapBus.Pio, port, TrapDirection.Read, data);
        return data[0];
    }
}
