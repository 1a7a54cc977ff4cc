using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Devices.Serial;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using Xunit.Abstractions;

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

    private byte Read(ulong port)
    {
        Span<byte> data = [0];
        _vm.Dispatcher.Dispatch(0, TrapBus.Pio, port, TrapDirection.Read, data);
        return data[0];
    }
}
