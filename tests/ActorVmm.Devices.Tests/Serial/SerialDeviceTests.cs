using ActorVmm.Devices.Serial;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Traps;
using static ActorVmm.Devices.Serial.Uart16550Registers;

namespace ActorVmm.Devices.Tests.Serial;

public sealed class SerialDeviceTests
{
    private const int VcpuId = 0;
    private const ulong Arm64UartBase = 0x0100_0000;
    private const int Arm64UartIrq = 32;
    private const byte ScratchValue = 0xA5;
    private const byte SampleByte = (byte)'x';

    private static TrapDispatcher Register(params IDevice[] devices)
    {
        var table = new TrapTable();
        var writer = table.ClaimWriter();
        foreach (var device in devices)
        {
            for (int i = 0; i < device.Regions.Count; i++)
            {
                int index = i;
                var region = device.Regions[i];
                writer.Register(region.Bus, region.Base, region.Length, access => device.HandleTrap(index, access), region.Flags, device.Name);
            }
        }

        return new TrapDispatcher(table);
    }

    private static byte ReadByte(TrapDispatcher dispatcher, TrapBus bus, ulong address)
    {
        Span<byte> data = stackalloc byte[1];
        Assert.Equal(DispatchOutcome.Handled, dispatcher.Dispatch(VcpuId, bus, address, TrapDirection.Read, data));
        return data[0];
    }

    private static void WriteByte(TrapDispatcher dispatcher, TrapBus bus, ulong address, byte value)
    {
        Span<byte> data = [value];
        Assert.Equal(DispatchOutcome.Handled, dispatcher.Dispatch(VcpuId, bus, address, TrapDirection.Write, data));
    }

    [Fact]
    public void Pc_com_ports_sit_at_the_standard_ports_and_irqs()
    {
        Assert.Equal([(0x3F8UL, 4), (0x2F8UL, 3), (0x3E8UL, 4), (0x2E8UL, 3)], SerialPortSpec.PcComPorts.Select(s => (s.Base, s.Irq)));
        Assert.All(SerialPortSpec.PcComPorts, s => Assert.Equal(TrapBus.Pio, s.Bus));
    }

    [Fact]
    public void All_four_com_ports_register_side_by_side_with_eight_ports_each()
    {
        var devices = SerialPortSpec.PcComPorts
            .Select(spec => new SerialDevice(spec, new RecordingInterruptLine(spec.Irq), NullGuestOutput.Instance))
            .ToArray();

        var dispatcher = Register(devices);

        Assert.Equal(devices.Length, dispatcher.Table.Regions(TrapBus.Pio).Count);
        Assert.All(dispatcher.Table.Regions(TrapBus.Pio), r => Assert.Equal((ulong)RegisterCount, r.Length));
    }

    [Fact]
    public void Com1_transmits_through_the_trap_dispatcher()
    {
        var output = new RecordingSerialOutput();
        var dispatcher = Register(new SerialDevice(SerialPortSpec.Com1, new RecordingInterruptLine(), output));

        WriteByte(dispatcher, TrapBus.Pio, SerialPortSpec.Com1.Base + ThrOffset, SampleByte);

        Assert.Equal([SampleByte], output.Bytes);
    }

    [Fact]
    public void The_same_device_class_serves_a_uart_on_the_MMIO_bus()
    {
        var spec = SerialPortSpec.Mmio("uart0", Arm64UartBase, Arm64UartIrq);
        var irq = new RecordingInterruptLine(Arm64UartIrq);
        var device = new SerialDevice(spec, irq, NullGuestOutput.Instance);
        var dispatcher = Register(device);

        WriteByte(dispatcher, TrapBus.Mmio, Arm64UartBase + ScrOffset, ScratchValue);
        WriteByte(dispatcher, TrapBus.Mmio, Arm64UartBase + IerOffset, IerReceivedDataBit);
        device.EnqueueInput([SampleByte]);

        Assert.Equal(ScratchValue, ReadByte(dispatcher, TrapBus.Mmio, Arm64UartBase + ScrOffset));
        Assert.True(irq.Level);
        Assert.Equal(SampleByte, ReadByte(dispatcher, TrapBus.Mmio, Arm64UartBase + RbrOffset));
    }

    [Fact]
    public void Linux_autoconfig_through_the_dispatcher_on_MMIO_identifies_a_16550A()
    {
        var spec = SerialPortSpec.Mmio("uart0", Arm64UartBase, Arm64UartIrq);
        var dispatcher = Register(new SerialDevice(spec, new RecordingInterruptLine(), NullGuestOutput.Instance));
        var probe = new Linux8250Autoconfig(
            offset => ReadByte(dispatcher, TrapBus.Mmio, Arm64UartBase + (ulong)offset),
            (offset, value) => WriteByte(dispatcher, TrapBus.Mmio, Arm64UartBase + (ulong)offset, value));

        Assert.Equal(Linux8250PortType.Uart16550A, probe.Run());
    }

    [Fact]
    public void A_word_access_is_split_into_consecutive_byte_registers()
    {
        var dispatcher = Register(new SerialDevice(SerialPortSpec.Com1, new RecordingInterruptLine(), NullGuestOutput.Instance));
        ulong lcrPort = SerialPortSpec.Com1.Base + LcrOffset;

        // One 16-bit OUT to LCR writes LCR (low byte) and MCR (high byte).
        Span<byte> word = [Lcr8N1, McrDtrBit];
        dispatcher.Dispatch(VcpuId, TrapBus.Pio, lcrPort, TrapDirection.Write, word);

        Assert.Equal(Lcr8N1, ReadByte(dispatcher, TrapBus.Pio, lcrPort));
        Assert.Equal(McrDtrBit, ReadByte(dispatcher, TrapBus.Pio, SerialPortSpec.Com1.Base + McrOffset));
    }

    [Fact]
    public void An_unknown_region_index_reads_as_an_empty_bus()
    {
        var device = new SerialDevice(SerialPortSpec.Com1, new RecordingInterruptLine(), NullGuestOutput.Instance);
        Span<byte> data = [0];
        const int NoSuchRegion = 1;

        device.HandleTrap(NoSuchRegion, new TrapAccess(VcpuId, TrapBus.Pio, SerialPortSpec.Com1.Base, 0, TrapDirection.Read, data));

        Assert.Equal(0xFF, data[0]);
    }

    [Fact]
    public void Host_input_is_flow_controlled_through_the_device()
    {
        var device = new SerialDevice(SerialPortSpec.Com1, new RecordingInterruptLine(), NullGuestOutput.Instance);

        // FIFOs are off after reset: RBR holds one byte.
        Assert.Equal(1, device.EnqueueInput([SampleByte, SampleByte]));
        Assert.Equal(0, device.ReceiveSpace);
    }
}
