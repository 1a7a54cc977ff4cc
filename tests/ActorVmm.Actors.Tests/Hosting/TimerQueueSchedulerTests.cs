using ActorVmm.Actors.Hosting;
using Akka.Actor;
using Akka.Event;
using Microsoft.Extensions.Time.Testing;

namespace ActorVmm.Actors.Tests.Hosting;

public sealed class TimerQueueSchedulerTests : IDisposable
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);

    private readonly FakeTimeProvider _time = new();
    private readonly TimerQueueScheduler _scheduler;
    private readonly Inbox _inbox = new();

    public TimerQueueSchedulerTests()
    {
        _scheduler = new TimerQueueScheduler(ActorVmmConfig.Load(), NoLogger.Instance, _time);
    }

    public void Dispose() => _scheduler.Dispose();

    // Akka's scheduling API is the IScheduler interface (SchedulerBase implements it explicitly).
    private IScheduler Scheduler => _scheduler;

    [Fact]
    public void A_tell_once_arrives_when_its_delay_has_passed_and_not_before()
    {
        Scheduler.ScheduleTellOnce(Delay, _inbox, "hello", ActorRefs.NoSender);

        _time.Advance(Delay - Tick);
        Assert.Empty(_inbox.Messages);

        _time.Advance(Tick);
        Assert.Equal(["hello"], _inbox.Messages);
        Assert.Equal(0, _scheduler.PendingCount);

        _time.Advance(Delay * 4);
        Assert.Single(_inbox.Messages);
    }

    [Fact]
    public void A_delay_below_a_millisecond_is_rounded_up_never_down()
    {
        Scheduler.ScheduleTellOnce(TimeSpan.FromMicroseconds(300), _inbox, "soon", ActorRefs.NoSender);

        _time.Advance(TimeSpan.FromMicroseconds(299));
        Assert.Empty(_inbox.Messages);

        _time.Advance(Tick);
        Assert.Equal(["soon"], _inbox.Messages);
    }

    [Fact]
    public void A_repeating_tell_arrives_after_the_initial_delay_then_once_per_interval()
    {
        Scheduler.ScheduleTellRepeatedly(Delay, Interval, _inbox, "tick", ActorRefs.NoSender);

        _time.Advance(Delay - Tick);
        Assert.Empty(_inbox.Messages);
        _time.Advance(Tick);
        Assert.Single(_inbox.Messages);

        for (int expected = 2; expected <= 5; expected++)
        {
            _time.Advance(Interval - Tick);
            Assert.Equal(expected - 1, _inbox.Messages.Count);
            _time.Advance(Tick);
            Assert.Equal(expected, _inbox.Messages.Count);
        }

        Assert.Equal(1, _scheduler.PendingCount);
    }

    [Fact]
    public void Cancelling_a_pending_tell_releases_its_timer_at_once_and_it_never_arrives()
    {
        var cancelable = Scheduler.ScheduleTellOnceCancelable(Delay, _inbox, "never", ActorRefs.NoSender);
        Assert.Equal(1, _scheduler.PendingCount);

        cancelable.Cancel();

        Assert.Equal(0, _scheduler.PendingCount);
        _time.Advance(Delay * 2);
        Assert.Empty(_inbox.Messages);
    }

    [Fact]
    public void A_task_whose_cancelable_is_already_cancelled_is_not_scheduled()
    {
        var cancelable = new Cancelable(Scheduler);
        cancelable.Cancel();

        Scheduler.ScheduleTellOnce(Delay, _inbox, "never", ActorRefs.NoSender, cancelable);

        Assert.Equal(0, _scheduler.PendingCount);
        _time.Advance(Delay * 2);
        Assert.Empty(_inbox.Messages);
    }

    [Fact]
    public void Cancelling_a_repeating_tell_stops_it_after_the_runs_already_made()
    {
        var cancelable = Scheduler.ScheduleTellRepeatedlyCancelable(Delay, Interval, _inbox, "tick", ActorRefs.NoSender);
        _time.Advance(Delay);
        _time.Advance(Interval);
        Assert.Equal(2, _inbox.Messages.Count);

        cancelable.Cancel();
        AdvanceIntervals(10);

        Assert.Equal(2, _inbox.Messages.Count);
        Assert.Equal(0, _scheduler.PendingCount);
    }

    [Fact]
    public void A_delay_longer_than_the_timer_queue_takes_still_fires_on_time()
    {
        // The timer queue's longest due time is about 49.7 days.
        var longDelay = TimeSpan.FromDays(120);
        Scheduler.ScheduleTellOnce(longDelay, _inbox, "late", ActorRefs.NoSender);

        _time.Advance(TimeSpan.FromDays(60));
        Assert.Empty(_inbox.Messages);
        _time.Advance(TimeSpan.FromDays(60) - Tick);
        Assert.Empty(_inbox.Messages);
        _time.Advance(Tick);

        Assert.Equal(["late"], _inbox.Messages);
    }

    [Fact]
    public void A_repeating_action_that_throws_is_not_repeated_and_other_tasks_go_on()
    {
        int failures = 0;
        Scheduler.Advanced.ScheduleRepeatedly(Delay, Interval, () =>
        {
            failures++;
            throw new InvalidOperationException("scheduled task failed");
        });
        Scheduler.ScheduleTellRepeatedly(Delay, Interval, _inbox, "tick", ActorRefs.NoSender);

        _time.Advance(Delay);
        AdvanceIntervals(3);

        Assert.Equal(1, failures);
        Assert.Equal(4, _inbox.Messages.Count);
        Assert.Equal(1, _scheduler.PendingCount);
    }

    [Fact]
    public void Shutdown_runs_each_pending_task_once_skips_cancelled_ones_and_refuses_new_ones()
    {
        Scheduler.ScheduleTellOnce(Delay, _inbox, "pending", ActorRefs.NoSender);
        Scheduler.ScheduleTellRepeatedly(Delay, Interval, _inbox, "repeating", ActorRefs.NoSender);
        Scheduler.ScheduleTellOnceCancelable(Delay, _inbox, "cancelled", ActorRefs.NoSender).Cancel();

        _scheduler.Dispose();

        Assert.Equal(["pending", "repeating"], _inbox.Messages.Order(StringComparer.Ordinal));
        Assert.Equal(0, _scheduler.PendingCount);
        _time.Advance(Delay * 4);
        Assert.Equal(2, _inbox.Messages.Count);
        Assert.Throws<SchedulerException>(() => Scheduler.ScheduleTellOnce(Delay, _inbox, "late", ActorRefs.NoSender));
    }

    [Fact]
    public void The_monotonic_clock_and_now_follow_the_time_provider()
    {
        var before = Scheduler.MonotonicClock;
        var now = _time.GetUtcNow();

        _time.Advance(Delay);

        Assert.Equal(Delay, Scheduler.MonotonicClock - before);
        Assert.Equal(Delay, Scheduler.HighResMonotonicClock - before);
        Assert.Equal(now + Delay, Scheduler.Now);
    }

    // A repeating task is re-armed from its own run, at the fake clock's time then: step the clock one interval at a time
    // as real time would pass (one big Advance moves the clock to its end before the first run).
    private void AdvanceIntervals(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _time.Advance(Interval);
        }
    }

    /// <summary>A receiver that records what is told to it, on whatever thread the timer runs.</summary>
    private sealed class Inbox : ICanTell
    {
        private readonly List<string> _messages = [];

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_messages)
                {
                    return [.. _messages];
                }
            }
        }

        public void Tell(object message, IActorRef sender)
        {
            lock (_messages)
            {
                _messages.Add((string)message);
            }
        }
    }
}
