using ActorVmm.Devices.I8042;
using ActorVmm.Devices.Tests.Support;
using ActorVmm.Machine.Traps;
using static ActorVmm.Devices.I8042.I8042Registers;

namespace ActorVmm.Devices.Tests.I8042;

public sealed class I8042DeviceTests
{
    private const int VcpuId = 0;
    private const ushort PitPortB = 0x61;

    private static (I8042Device Device, TrapDispatcher Dispatcher, RecordingPowerRequests Power, TrapTableWriter Writer) Create()
    {
        var power = new RecordingPowerRequests();
        var device = new I8042Device(new RecordingInterruptLine(KeyboardIrq), new RecordingInterruptLine(AuxIrq), power);
        var table = new TrapTable();
        var writer = table.ClaimWriter();
        for (int i = 0; i < device.Regions.Count; i++)
        {
            int index = i;
            var region = device.Regions[i];
            writer.Register(region.Bus, region.Base, region.Length, access => device.HandleTrap(index, access), region.Flags, device.Name);
        }

        return (device, new TrapDispatcher(table), power, writer);
    }

    [Fact]
    public void Device_claims_only_ports_0x60_and_0x64_leaving_PIT_port_B_free()
    {
        var (device, dispatcher, _, writer) = Create();

        Assert.Equal([(ulong)DataPort, CommandPort], device.Regions.Select(r => r.Base));
        Assert.All(device.Regions, r => Assert.Equal(1UL, r.Length));
        writer.Register(TrapBus.Pio, PitPortB, 1, _ => { }, name: "pit-port-b");
        Assert.Equal(device.Regions.Count + 1, dispatcher.Table.Regions(TrapBus.Pio).Count);
    }

    [Fact]
    public void Self_test_through_the_ports_returns_0x55()
    {
        var (_, dispatcher, _, _) = Create();
        Span<byte> data = [CmdSelfTest];

        dispatcher.Dispatch(VcpuId, TrapBus.Pio, CommandPort, TrapDirection.Write, data);
        dispatcher.Dispatch(VcpuId, TrapBus.Pio, DataPort, TrapDirection.Read, data);

        Assert.Equal(ReplySelfTestPassed, data[0]);
    }

    [Fact]
    public void Pulse_reset_through_port_0x64_requests_a_reset()
    {
        var (_, dispatcher, power, _) = Create();
        Span<byte> data = [CmdPulseReset];

        dispatcher.Dispatch(VcpuId, TrapBus.Pio, CommandPort, TrapDirection.Write, data);

        Assert.Single(power.Resets);
    }

    [Fact]
    public void A_word_read_at_the_data_port_is_split_into_the_data_byte_and_an_empty_bus_byte_for_port_0x61()
    {
        var (_, dispatcher, _, _) = Create();
        dispatcher.Dispatch(VcpuId, TrapBus.Pio, CommandPort, TrapDirection.Write, [CmdSelfTest]);
        Span<byte> word = [0, 0];

        var outcome = dispatcher.Dispatch(VcpuId, TrapBus.Pio, DataPort, TrapDirection.Read, word);

        Assert.Equal(DispatchOutcome.Split, outcome);
        Assert.Equal([ReplySelfTestPassed, 0xFF], word.ToArray());
    }
}
