using ActorVmm.Actors.Console;
using ActorVmm.Actors.Supervision;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

public sealed class ConsoleInputPumpTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const int SourceBytes = (2 * ConsoleInputPump.ChunkSize) + 123;
    private const string DeviceName = "com1";

    [Fact]
    public async Task Pump_sends_every_host_byte_in_order_wrapped_for_its_target_and_completes_at_end_of_input()
    {
        byte[] source = [.. Enumerable.Range(0, SourceBytes).Select(i => (byte)i)];
        var probe = CreateTestProbe();
        using var pump = new ConsoleInputPump(new MemoryStream(source), probe.Ref, input => new SupervisorProtocol.SendToDevice(DeviceName, input));

        pump.Start();
        await pump.Completion.WaitAsync(Patience);

        var received = new List<byte>();
        while (received.Count < source.Length)
        {
            var message = probe.ExpectMsg<SupervisorProtocol.SendToDevice>(Patience);
            Assert.Equal(DeviceName, message.Name);
            received.AddRange(Assert.IsType<ConsoleProtocol.Input>(message.Message).Data.ToArray());
        }

        Assert.Equal(source, received);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }
}
