using System.Text;
using ActorVmm.Machine.Traps;
using ActorVmm.Machine.Vcpu;
using ActorVmm.TestGuests;

namespace ActorVmm.Emulator.Tests;

public sealed class RealModeIoTests
{
    private const string Greeting = "Hello from the emulated guest\n";
    private const byte ExpectedStatus = 7;
    private const ushort DeviceValue = 0xBEE0;
    private const uint MmioReadValue = 0xCAFE_F00D;
    private const ushort StringPattern = 0x4100;

    [Fact]
    public void Serial_hello_bytes_come_out_of_the_registered_com1_handler()
    {
        using var harness = new EmulatorHarness(Guests.SerialHello(Greeting, ExpectedStatus));
        var bytes = harness.CapturePortWrites(Guests.Com1);

        var exit = harness.RunToCompletion();

        Assert.Equal(VcpuExitReason.Stopped, exit.Reason);
        Assert.Equal(ExpectedStatus, harness.ExitStatus);
        Assert.Equal(Greeting, Encoding.ASCII.GetString(bytes.Select(b => (byte)b).ToArray()));
    }

    [Fact]
    public void In_returns_the_device_value_into_the_register()
    {
        using var harness = new EmulatorHarness(IoGuests.InEcho());
        var reads = 0;
        harness.Traps.Register(TrapBus.Pio, IoGuests.DevicePort, 2, access =>
        {
            Assert.Equal(TrapDirection.Read, access.Direction);
            Assert.Equal(sizeof(ushort), access.Length);
            reads++;
            access.SetValue(DeviceValue);
        }, name: "device");
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 2);

        harness.RunToCompletion();

        Assert.Equal(1, reads);
        Assert.Equal([(ulong)(DeviceValue + IoGuests.InIncrement)], results.ToArray());
    }

    [Fact]
    public void Memory_operands_outside_ram_become_mmio_exits_with_size_and_direction()
    {
        using var harness = new EmulatorHarness(IoGuests.MmioReadWrite());
        var accesses = new List<(ulong Address, TrapDirection Direction, int Length, ulong Value)>();
        harness.Traps.Register(TrapBus.Mmio, IoGuests.MmioBase, 0x100, access =>
        {
            if (access.Direction == TrapDirection.Read)
            {
                access.SetValue(MmioReadValue);
            }

            accesses.Add((access.Address, access.Direction, access.Length, access.IsWrite ? access.Value : 0));
        }, name: "mmio");
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 4);

        harness.RunToCompletion();

        Assert.Equal(
            [
                (IoGuests.MmioBase + IoGuests.MmioWriteOffset, TrapDirection.Write, sizeof(ushort), (ulong)IoGuests.MmioWrittenValue),
                (IoGuests.MmioBase + IoGuests.MmioReadOffset, TrapDirection.Read, sizeof(uint), 0UL),
            ],
            accesses);
        Assert.Equal([(ulong)MmioReadValue], results.ToArray());
    }

    [Fact]
    public void Rep_ins_and_outs_make_one_dispatch_per_element()
    {
        using var harness = new EmulatorHarness(IoGuests.RepStringIo());
        ushort next = StringPattern;
        int reads = 0;
        harness.Traps.Register(TrapBus.Pio, IoGuests.DevicePort, 2, access =>
        {
            reads++;
            access.SetValue(next++);
        }, name: "source");
        var results = harness.CapturePortWrites(IoGuests.ResultPort, 2);

        harness.RunToCompletion();

        var expected = Enumerable.Range(0, IoGuests.StringWords).Select(i => (ulong)(StringPattern + i)).ToArray();
        Assert.Equal(IoGuests.StringWords, reads);
        Assert.Equal(expected, results.ToArray());
    }
}
