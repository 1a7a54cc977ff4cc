using ActorVmm.Actors.Console;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Actors.Vm;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

public sealed class ConsoleSinkTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private const int Messages = 500;
    private const int BytesPerMessage = 3;

    [Fact]
    public async Task Console_sink_that_crashes_mid_stream_loses_no_byte_and_keeps_their_order()
    {
        // Writes 3, 50 and 51 fail; 51 is the retry of 50's bytes in the restarted sink's PreStart.
        // A flush after every message forces a write per message (bursts are otherwise coalesced).
        var stream = new FailingStream(new HashSet<int> { 3, 50, 51 });
        var buffer = new ConsoleSinkBuffer();
        var target = new ConsoleTarget("failing", () => stream);
        var parent = Sys.ActorOf(Props.Create(() => new SinkParent(target, buffer)));
        var sink = await parent.Ask<IActorRef>(SinkParent.GetSink.Instance, Patience);
        byte[] expected = [.. Enumerable.Range(0, Messages * BytesPerMessage).Select(i => (byte)i)];

        for (int m = 0; m < Messages; m++)
        {
            sink.Tell(new ConsoleProtocol.Output(expected.AsSpan(m * BytesPerMessage, BytesPerMessage).ToArray()), ActorRefs.NoSender);
            sink.Tell(ConsoleProtocol.Flush.Instance, ActorRefs.NoSender);
        }

        AwaitAssert(() =>
        {
            sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);
            Assert.Equal(0, ExpectMsg<ConsoleProtocol.Flushed>(Patience).PendingBytes);
            Assert.Equal(expected.Length, stream.Bytes.Length);
        }, Patience);
        Assert.Equal(expected, stream.Bytes);
        Assert.Equal(3, stream.Failures);
        Assert.Equal(3, buffer.Restarts);
        Assert.Equal(expected.Length, buffer.Written);
    }

    [Fact]
    public void Console_sink_appends_guest_output_to_a_file_target()
    {
        string path = Path.Combine(Path.GetTempPath(), $"actorvmm-console-{Guid.NewGuid():N}.log");
        try
        {
            var sink = Sys.ActorOf(ConsoleSinkActor.Props(ConsoleTarget.File(path)));
            var writer = new ActorGuestOutput(sink);

            writer.Write("boot ok\n"u8);
            sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);

            ExpectMsg<ConsoleProtocol.Flushed>(Patience);
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
        var sink = Sys.ActorOf(ConsoleSinkActor.Props(ConsoleTarget.None));

        sink.Tell(ConsoleProtocol.Flush.Instance, ActorRefs.NoSender);
        sink.Tell(ConsoleProtocol.Flush.Instance, TestActor);

        // The answered flush proves the unanswered one was handled first (one mailbox, in order).
        ExpectMsg<ConsoleProtocol.Flushed>(Patience);
        AssertNoDeadLetterOfOurs(letters, TimeSpan.FromMilliseconds(200));
    }

    /// <summary>Supervises a sink exactly as a VM actor does.</summary>
    private sealed class SinkParent : ReceiveActor
    {
        private readonly IActorRef _sink;

        public SinkParent(ConsoleTarget target, ConsoleSinkBuffer buffer)
        {
            _sink = Context.ActorOf(ConsoleSinkActor.Props(target, buffer), "console");
            Receive<GetSink>(_ => Sender.Tell(_sink));
        }

        protected override SupervisorStrategy SupervisorStrategy() =>
            new OneForOneStrategy(10, TimeSpan.FromMinutes(1), new VmChildDecider(NullLogger.Instance, "sink-test"));

        public sealed record GetSink
        {
            public static GetSink Instance { get; } = new();
        }
    }
}
