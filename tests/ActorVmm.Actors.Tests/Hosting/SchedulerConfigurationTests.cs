using ActorVmm.Actors.Hosting;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests.Hosting;

/// <summary>The scheduler config/akka.hocon selects, in a running actor system.</summary>
public sealed class SchedulerConfigurationTests(ITestOutputHelper output) : ActorVmmTestKit(output)
{
    private static readonly TimeSpan TimerDelay = TimeSpan.FromMilliseconds(20);

    [Fact]
    public void Akka_hocon_selects_the_timer_queue_scheduler_and_actor_timers_fire_on_it()
    {
        Assert.IsType<TimerQueueScheduler>(Sys.Scheduler);

        var actor = Sys.ActorOf(Props.Create(() => new TimerActor(TestActor, TimerDelay)));

        ExpectMsg("fired", Patience);
        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor, Patience);
        AwaitCondition(() => ((TimerQueueScheduler)Sys.Scheduler).PendingCount == 0, Patience);
    }

    [Fact]
    public void An_ask_timeout_still_fails_the_ask_on_time()
    {
        var silent = Sys.ActorOf(Props.Create(() => new TimerActor(ActorRefs.Nobody, TimeSpan.FromDays(1))));

        var ask = silent.Ask<object>("question", TimerDelay);

        Assert.Throws<AggregateException>(() => ask.Wait(Patience));
        Assert.IsType<AskTimeoutException>(ask.Exception!.InnerException);
    }

    /// <summary>Arms one single timer at start; tells its target when it fires.</summary>
    private sealed class TimerActor : ReceiveActor, IWithTimers
    {
        public TimerActor(IActorRef target, TimeSpan delay)
        {
            Receive<string>(message => message == "fire", _ => target.Tell("fired"));
            ReceiveAny(_ => { });
            Delay = delay;
        }

        public ITimerScheduler Timers { get; set; } = null!;

        private TimeSpan Delay { get; }

        protected override void PreStart() => Timers.StartSingleTimer("fire", "fire", Delay);
    }
}

/// <summary>Tests that drive time themselves layer Akka's TestScheduler over config/akka.hocon; that must keep working.</summary>
public sealed class TestSchedulerOverrideTests(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(
        ConfigurationFactory.ParseString("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"\nakka.loglevel = WARNING")
            .WithFallback(ActorVmmConfig.Load()),
        "actorvmm-test-scheduler",
        output)
{
    [Fact]
    public void Advancing_the_test_scheduler_fires_a_timer_exactly_when_due()
    {
        var scheduler = Assert.IsType<TestScheduler>(Sys.Scheduler);
        scheduler.ScheduleTellOnce(TimeSpan.FromSeconds(5), TestActor, "due", ActorRefs.NoSender);

        scheduler.Advance(TimeSpan.FromSeconds(4));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        scheduler.Advance(TimeSpan.FromSeconds(1));

        ExpectMsg("due");
    }
}
