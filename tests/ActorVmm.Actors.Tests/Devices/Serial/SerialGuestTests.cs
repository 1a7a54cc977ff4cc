using ActorVmm.Devices;
using ActorVmm.Devices.Serial;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.Actors.Tests.Devices.Serial;

/// <summary>Guests driving the UART on the emulator through the VM's trap table.</summary>
public sealed class SerialGuestTests
{
    private const string Greeting = "ping\n";
    private const string Reply = "pong\n";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    public static TheoryData<string> ComPorts => ["com1", "com2", "com3", "com4"];

    [Theory]
    [MemberData(nameof(ComPorts))]
    public void Linux_8250_probe_guest_identifies_each_com_port_as_a_16550A(string name)
    {
        var spec = SerialPortSpec.PcComPorts.Single(s => s.Name == name);
        using var vm = new EmulatedDevicesVm(DeviceGuests.Uart16550Probe((ushort)spec.Base));
        vm.Register(new SerialDevice(spec, vm.Vm.GetInterruptLine(spec.Irq), NullGuestOutput.Instance));

        var exit = vm.RunToCompletion();

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(DeviceGuests.ProbeIs16550A, vm.ExitStatus);
    }

    [Fact]
    public void Guest_transmits_then_receives_host_input_through_interrupts_and_echoes_it()
    {
        var spec = SerialPortSpec.Com1;
        using var vm = new EmulatedDevicesVm(DeviceGuests.UartEchoWithInterrupts(Greeting, (ushort)spec.Base, (byte)spec.Irq));
        var pic = vm.AttachPic();
        var output = new ConcurrentSerialOutput();
        var uart = new SerialDevice(spec, vm.Vm.GetInterruptLine(spec.Irq), output);
        vm.Register(uart);

        vm.Start();
        var deadline = DateTime.UtcNow + EmulatedDevicesVm.GuestTimeout;
        while (output.Text != Greeting && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(PollInterval);
        }

        Assert.Equal(Greeting, output.Text);
        Assert.Equal(Reply.Length, uart.EnqueueInput(System.Text.Encoding.ASCII.GetBytes(Reply)));
        var exit = vm.WaitForCompletion();

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(Reply.Length, vm.ExitStatus);
        Assert.Equal(Greeting + Reply, output.Text);
        Assert.True(pic.Acknowledged > 0);
    }
}
