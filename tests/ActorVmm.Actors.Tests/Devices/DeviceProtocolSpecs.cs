using ActorVmm.Actors.Devices;
using Akka.Event;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests.Devices;

public sealed class DeviceProtocolSpecs(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    [Fact]
    public void An_attach_that_reaches_a_stopped_device_actor_is_a_suppressed_dead_letter_not_a_reported_one()
    {
        // A VM that ends at once stops its device actors with their first Attach still queued (VmActorTests' top-level VM).
        var letters = CreateTestProbe();
        Sys.EventStream.Subscribe(letters.Ref, typeof(AllDeadLetters));
        var stopped = CreateTestProbe();
        Watch(stopped.Ref);
        Sys.Stop(stopped.Ref);
        ExpectTerminated(stopped.Ref);

        stopped.Ref.Tell(new DeviceProtocol.Attach(1), TestActor);

        var letter = letters.FishForMessage<AllDeadLetters>(l => l.Message is DeviceProtocol.Attach, Patience);
        Assert.IsType<SuppressedDeadLetter>(letter);
    }
}
