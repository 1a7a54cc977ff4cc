using ActorVmm.Actors.Console;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Actors.Vm;
using ActorVmm.Devices;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

public sealed class ConsoleSinkTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const int Chunks = 500;
    private const int BytesPerChunk = 3;

    [Fact]
    public void Console_sink_that_crashes_mid_stream_loses_no_byte_and_keeps_their_order()
    {
        // Write calls 3, 50 and 51 fail; 51 is the retry of 50's bytes by the restarted sink.
        var stream = new FailingStream(new HashSet<int> { 3, 50, 51 });
        int opens = 0;
        var target = new ConsoleTarget("failing", () =>
        {
            Interlocked.Increment(ref opens);
            return stream;
        });
        var buffer = new GuestOutputBuffer();
        Sys.ActorOf(Props.Create(() => new SinkParent(target, buffer)));
        byte[] expected = [.. Enumerable.Range(0, Chunks * BytesPerChunk).Select(i => (byte)i)];

        // One chunk at a time, each written before the next, so that there are more than 51 write calls.
        for (int c = 0; c < Chunks; c++)
        {
            buffer.Write(expected.AsSpan(c * BytesPerChunk, BytesPerChunk));
            Assert.True(SpinWait.SpinUntil(() => buffer.PendingCount == 0, Patience), $"chunk {c} was not written");
        }

        Assert.Equal(expected, stream.Bytes);
        Assert.Equal(3, stream.Failures);
        Assert.Equal(4, Volatile.Read(ref opens));
        Assert.Equal(expected.Length, buffer.Consumed);
    }

    [Fact]
    public void A_target_that_fails_and_then_cannot_be_reopened_once_still_gets_every_byte_once()
    {
        // The first write fails; the first reopen (the restart's) fails too; the next restart works.
        var stream = new FailingStream(new HashSet<int> { 1 });
        int opens = 0;
        var target = new ConsoleTarget("flaky", () => Interlocked.Increment(ref opens) == 2 ? throw new IOException("cannot reopen") : stream);
        var buffer = new GuestOutputBuffer();
        Sys.ActorOf(Props.Create(() => new SinkParent(target, buffer)));

        buffer.Write("kept once\n"u8);

        Assert.True(SpinWait.SpinUntil(() => buffer.PendingCount == 0, Patience), "the bytes were never written");
        Assert.Equal("kept once\n"u8.ToArray(), stream.Bytes);
        Assert.Equal(3, Volatile.Read(ref opens));
    }

    [Fact]
    public void Console_sink_appends_guest_output_to_a_file_target()
    {
        string path = Path.Combine(Path.GetTempPath(), $"actorvmm-console-{Guid.NewGuid():N}.log");
        try
        {
            var buffer = new GuestOutputBuffer();
            var sink = Sys.ActorOf(ConsoleSinkActor.Props(ConsoleTarget.File(path), buffer));

            buffer.Write("boot ok\n"u8);
            sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);

            Assert.Equal(0, ExpectMsg<ConsoleProtocol.Flushed>(Patience).PendingBytes);
            Assert.Equal("boot ok\n", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Console_sink_answers_a_flush_told_without_a_sender_with_no_dead_letter()
    {
        var letters = CreateTestProbe();
        Sys.EventStream.Subscribe(letters.Ref, typeof(AllDeadLetters));
        var sink = Sys.ActorOf(ConsoleSinkActor.Props(ConsoleTarget.None, new GuestOutputBuffer()));

        sink.Tell(ConsoleProtocol.Flush.Instance, ActorRefs.NoSender);
        sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);

        // The answered flush proves the unanswered one was handled first (one mailbox, in order).
        ExpectMsg<ConsoleProtocol.Flushed>(Patience);
        AssertNoDeadLetterOfOurs(letters, TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_burst_of_output_reaches_the_target_in_few_bulk_writes_not_one_per_byte()
    {
        const int BurstBytes = 4096;
        var stream = new CollectingStream();
        var buffer = new GuestOutputBuffer();
        byte[] burst = [.. Enumerable.Range(0, BurstBytes).Select(i => (byte)(i * 7))];

        // The whole burst is in before the sink starts, as when a vCPU prints faster than the sink is scheduled.
        foreach (byte b in burst)
        {
            buffer.Write([b]);
        }

        var sink = Sys.ActorOf(ConsoleSinkActor.Props(new ConsoleTarget("memory", () => stream), buffer));
        sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);

        Assert.Equal(0, ExpectMsg<ConsoleProtocol.Flushed>(Patience).PendingBytes);
        Assert.Equal(burst, stream.Bytes);
        Assert.InRange(stream.WriteCalls, 1, 2);
    }

    [Fact]
    public void Sink_statistics_count_accepted_written_and_dropped_bytes()
    {
        const int Capacity = 8;
        var buffer = new GuestOutputBuffer(Capacity);
        byte[] tooMuch = [.. Enumerable.Range(0, Capacity + 3).Select(i => (byte)i)];
        buffer.Write(tooMuch);
        var sink = Sys.ActorOf(ConsoleSinkActor.Props(ConsoleTarget.None, buffer));

        sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);
        ExpectMsg<ConsoleProtocol.Flushed>(Patience);
        sink.Tell(ConsoleProtocol.GetStatistics.Instance, TestActor);

        Assert.Equal(new ConsoleProtocol.SinkStatistics(Capacity, Capacity, 3), ExpectMsg<ConsoleProtocol.SinkStatistics>(Patience));
    }

    /// <summary>Supervises a sink exactly as a VM actor does.</summary>
    private sealed class SinkParent : ReceiveActor
    {
        public SinkParent(ConsoleTarget target, GuestOutputBuffer buffer) => Context.ActorOf(ConsoleSinkActor.Props(target, buffer), "console");

        protected override SupervisorStrategy SupervisorStrategy() =>
            new OneForOneStrategy(10, TimeSpan.FromMinutes(1), new VmChildDecider(NullLogger.Instance, "sink-test"));
    }
}
