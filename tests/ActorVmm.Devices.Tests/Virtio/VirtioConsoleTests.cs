using System.Text;
using ActorVmm.Devices.Virtio.Console;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.TestSupport.Virtio;
using static ActorVmm.Devices.Tests.Virtio.VirtioRigs;

namespace ActorVmm.Devices.Tests.Virtio;

public sealed class VirtioConsoleTests
{
    private readonly CollectingOutput _output = new();

    [Fact]
    public void Transmitted_bytes_reach_the_output_in_order_and_the_chain_comes_back_with_length_zero()
    {
        using var machine = ConsoleMachine(_output);
        var queues = Start(machine, queues: 2);
        var transmit = queues[VirtioConsole.TransmitQueue];
        machine.Dma.Write(Buffers, "hello "u8);
        machine.Dma.Write(Buffers + 0x100, "world"u8);
        ushort head = transmit.AddChain([DriverBuffer.Readable(Buffers, 6), DriverBuffer.Readable(Buffers + 0x100, 5)]);
        transmit.MakeAvailable(head);

        machine.Driver.Notify(VirtioConsole.TransmitQueue);
        machine.RunSlowPath();

        Assert.Equal("hello world", Encoding.ASCII.GetString(_output.Bytes));
        Assert.True(transmit.TryTakeUsed(out var used));
        Assert.Equal(new UsedElement(head, 0), used);
    }

    [Fact]
    public void Host_input_fills_receive_buffers_in_order_with_exact_lengths()
    {
        using var machine = ConsoleMachine(_output);
        var receive = Start(machine, queues: 2)[VirtioConsole.ReceiveQueue];
        ushort first = receive.AddChain([DriverBuffer.Writable(Buffers, 4)]);
        ushort second = receive.AddChain([DriverBuffer.Writable(Buffers + 0x100, 16)]);
        receive.MakeAvailable(first);
        receive.MakeAvailable(second);
        machine.Driver.Notify(VirtioConsole.ReceiveQueue);
        machine.RunSlowPath();

        machine.Input.Add("abcdefg"u8);
        machine.Device.OnInputAvailable();
        machine.RunSlowPath();

        Assert.True(receive.TryTakeUsed(out var a));
        Assert.True(receive.TryTakeUsed(out var b));
        Assert.Equal(new UsedElement(first, 4), a);
        Assert.Equal(new UsedElement(second, 3), b);
        Assert.Equal("abcd", Encoding.ASCII.GetString(Bytes(machine, Buffers, 4)));
        Assert.Equal("efg\0", Encoding.ASCII.GetString(Bytes(machine, Buffers + 0x100, 4)));
        Assert.True(machine.Input.IsEmpty);
    }

    [Fact]
    public void Input_waits_outside_the_device_until_the_guest_gives_buffers_and_none_is_lost()
    {
        using var machine = ConsoleMachine(_output);
        var receive = Start(machine, queues: 2)[VirtioConsole.ReceiveQueue];
        machine.Input.Add("0123456789"u8);
        machine.Device.OnInputAvailable();
        machine.RunSlowPath();
        Assert.Equal(10, machine.Input.Count);

        var received = new StringBuilder();
        for (int i = 0; i < 4; i++)
        {
            ushort head = receive.AddChain([DriverBuffer.Writable(Buffers, 3)]);
            receive.MakeAvailable(head);
            machine.Driver.Notify(VirtioConsole.ReceiveQueue);
            machine.RunSlowPath();
            Assert.True(receive.TryTakeUsed(out var used));
            received.Append(Encoding.ASCII.GetString(Bytes(machine, Buffers, (int)used.Length)));
        }

        Assert.Equal("0123456789", received.ToString());
        Assert.True(machine.Input.IsEmpty);
    }

    [Fact]
    public void Input_that_arrives_before_driver_ok_waits_for_it()
    {
        using var machine = ConsoleMachine(_output);
        machine.Input.Add("x"u8);
        machine.Device.OnInputAvailable();

        var receive = Start(machine, queues: 2)[VirtioConsole.ReceiveQueue];
        receive.MakeAvailable(receive.AddChain([DriverBuffer.Writable(Buffers, 8)]));
        machine.Driver.Notify(VirtioConsole.ReceiveQueue);
        machine.RunSlowPath();

        Assert.True(receive.TryTakeUsed(out var used));
        Assert.Equal(1u, used.Length);
        Assert.Equal((byte)'x', Bytes(machine, Buffers, 1)[0]);
    }

    [Fact]
    public void The_emergency_write_field_writes_one_character()
    {
        using var machine = ConsoleMachine(_output);
        Assert.NotEqual(0UL, machine.Driver.DeviceFeatures & VirtioConsole.FeatureEmergencyWrite);

        machine.Driver.Access(VirtioMmioRegisters.Config + VirtioConsole.EmergencyWriteOffset, sizeof(uint), 'Z');

        Assert.Equal("Z", Encoding.ASCII.GetString(_output.Bytes));
    }
}
