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
        using var pump = ConsoleInputPump.ToActor(new MemoryStream(source), probe.Ref, input => new SupervisorProtocol.SendToDevice(DeviceName, input));

        pump.Start();

        var received = new List<byte>();
        while (received.Count < source.Length)
        {
            var message = probe.ExpectMsg<SupervisorProtocol.SendToDevice>(Patience);
            Assert.Equal(DeviceName, message.Name);
            received.AddRange(Assert.IsType<ConsoleProtocol.Input>(message.Message).Data.ToArray());
            probe.Reply(ConsoleProtocol.InputAccepted.Instance);
        }

        await pump.Completion.WaitAsync(Patience);
        Assert.Equal(source, received);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Pump_reads_the_next_chunk_from_an_endless_source_only_after_the_last_was_accepted()
    {
        var endless = new EndlessStream();
        var probe = CreateTestProbe();
        using var pump = ConsoleInputPump.ToActor(endless, probe.Ref, input => input);

        pump.Start();
        probe.ExpectMsg<ConsoleProtocol.Input>(Patience);
        var pumpAsk = probe.LastSender;
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        Assert.Equal(ConsoleInputPump.ChunkSize, endless.BytesRead);
        pumpAsk.Tell(ConsoleProtocol.InputAccepted.Instance, probe.Ref);
        probe.ExpectMsg<ConsoleProtocol.Input>(Patience);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(2 * ConsoleInputPump.ChunkSize, endless.BytesRead);
    }

    [Fact]
    public async Task Pump_ends_when_the_guest_side_answers_that_the_device_is_gone()
    {
        var probe = CreateTestProbe();
        using var pump = ConsoleInputPump.ToActor(new EndlessStream(), probe.Ref, input => new SupervisorProtocol.SendToDevice(DeviceName, input));

        pump.Start();
        probe.ExpectMsg<SupervisorProtocol.SendToDevice>(Patience);
        probe.Reply(new SupervisorProtocol.DeviceNotFound(DeviceName, "removed"));

        await pump.Completion.WaitAsync(Patience);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    /// <summary>A source that never ends (<c>/dev/zero</c>) and counts what was read from it.</summary>
    private sealed class EndlessStream : Stream
    {
        private long _read;

        public long BytesRead => Interlocked.Read(ref _read);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Clear(buffer, offset, count);
            Interlocked.Add(ref _read, count);
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
