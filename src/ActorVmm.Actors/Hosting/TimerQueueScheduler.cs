using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;

namespace ActorVmm.Actors.Hosting;

/// <summary>
/// Akka's scheduler (<c>akka.scheduler.implementation</c>) over .NET's timer queue: one timer per scheduled task, so
/// the process wakes only when something is due. Akka's own HashedWheelTimerScheduler ticks every
/// <c>akka.scheduler.tick-duration</c> (10 ms at the least) for as long as the system lives, whether anything is
/// scheduled or not; in a host whose VMs were all halted those 100 wake-ups a second were the whole idle cost
/// (docs/performance.md). Timers here are also finer than the wheel's 10 ms ticks, which device timers (the PIT,
/// the RTC) want.
/// </summary>
/// <remarks>
/// Semantics kept from the wheel: a task never runs before its delay (the timer queue's coarse clock can fire a
/// timer early, so a timer that fires early is re-armed for the rest, measured on the <see cref="TimeProvider"/>'s
/// high-resolution timestamp); a repeating task runs again <c>interval</c> after its previous run ended, so two runs
/// of one task never overlap; a task that throws is logged and not repeated; a cancelled task's timer is released at
/// once; scheduling after shutdown throws <see cref="SchedulerException"/>; on shutdown (the actor system disposes
/// its scheduler) every task still pending and not cancelled runs once, so promises and timeouts waiting on them
/// complete.
/// </remarks>
public sealed class TimerQueueScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    // The timer queue takes due times up to 0xFFFFFFFE ms (about 49.7 days); a longer delay is armed in steps.
    private static readonly TimeSpan MaxTimerDue = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);

    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly ConcurrentDictionary<Registration, byte> _pending = new();
    private volatile bool _stopped;

    /// <summary>Created by the actor system from <c>akka.scheduler.implementation</c>.</summary>
    public TimerQueueScheduler(Config scheduler, ILoggingAdapter log)
        : this(scheduler, log, TimeProvider.System)
    {
    }

    /// <summary>Over <paramref name="time"/>'s timers and clock (tests pass a fake one).</summary>
    public TimerQueueScheduler(Config scheduler, ILoggingAdapter log, TimeProvider time)
        : base(scheduler, log)
    {
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _origin = time.GetTimestamp();
    }

    /// <summary>Tasks scheduled and neither done, cancelled nor stopped (a one-shot task leaves when it runs).</summary>
    public int PendingCount => _pending.Count;

    /// <inheritdoc />
    public override TimeSpan MonotonicClock => _time.GetElapsedTime(_origin);

    /// <inheritdoc />
    public override TimeSpan HighResMonotonicClock => _time.GetElapsedTime(_origin);

    /// <inheritdoc />
    protected override DateTimeOffset TimeNow => _time.GetUtcNow();

    /// <summary>Stops every timer and runs each task still pending once (Akka's wheel does the same on shutdown).</summary>
    public void Dispose()
    {
        _stopped = true;
        foreach (var registration in _pending.Keys)
        {
            if (registration.Release())
            {
                registration.RunOnce();
            }
        }
    }

    /// <inheritdoc />
    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Schedule(delay, TimeSpan.Zero, () => receiver.Tell(message, sender), cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Schedule(initialDelay, interval, () => receiver.Tell(message, sender), cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Schedule(delay, TimeSpan.Zero, action, cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleOnce(TimeSpan delay, Akka.Dispatch.IRunnable action, ICancelable cancelable) =>
        Schedule(delay, TimeSpan.Zero, action.Run, cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Schedule(initialDelay, interval, action, cancelable);

    /// <inheritdoc />
    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Akka.Dispatch.IRunnable action, ICancelable cancelable) =>
        Schedule(initialDelay, interval, action.Run, cancelable);

    // The timer queue counts whole milliseconds: round up, and step through delays longer than it takes.
    private static TimeSpan TimerDue(TimeSpan remaining) =>
        remaining <= TimeSpan.Zero ? TimeSpan.Zero
        : remaining >= MaxTimerDue ? MaxTimerDue
        : TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds));

    private void Schedule(TimeSpan delay, TimeSpan interval, Action action, ICancelable? cancelable)
    {
        if (_stopped)
        {
            throw new SchedulerException("cannot enqueue after timer shutdown");
        }

        if (cancelable?.IsCancellationRequested == true)
        {
            return;
        }

        var registration = new Registration(this, action, cancelable, interval);
        _pending[registration] = 0;
        registration.Start(delay);
        if (_stopped)
        {
            // Shutdown raced with this call and may have missed it: stop it here.
            registration.Release();
        }
    }

    private void Remove(Registration registration) => _pending.TryRemove(registration, out _);

    /// <summary>One scheduled task: its timer, when it is due, its cancellation hook, and the action.</summary>
    private sealed class Registration(TimerQueueScheduler owner, Action action, ICancelable? cancelable, TimeSpan interval)
    {
        private readonly Lock _lock = new();
        private ITimer? _timer;
        private CancellationTokenRegistration _onCancel;
        private bool _released;

        // When the current wait began (the TimeProvider's timestamp) and how long it is.
        private long _armedAt;
        private TimeSpan _wait;

        private bool Repeats => interval > TimeSpan.Zero;

        public void Start(TimeSpan delay)
        {
            var timer = CreateTimer(owner._time);
            lock (_lock)
            {
                if (_released)
                {
                    timer.Dispose();
                    return;
                }

                _timer = timer;
                Arm(delay);
            }

            if (cancelable is null)
            {
                return;
            }

            // Release the timer as soon as the task is cancelled, not when it would have fired (the callback runs at
            // once when the cancelable was cancelled meanwhile).
            var onCancel = cancelable.Token.UnsafeRegister(static state => ((Registration)state!).Release(), this);
            bool released;
            lock (_lock)
            {
                released = _released;
                if (!released)
                {
                    _onCancel = onCancel;
                }
            }

            if (released)
            {
                onCancel.Dispose();
            }
        }

        /// <summary>Stops the timer; true when this call stopped it (it was still pending).</summary>
        public bool Release()
        {
            ITimer? timer;
            CancellationTokenRegistration onCancel;
            lock (_lock)
            {
                if (_released)
                {
                    return false;
                }

                _released = true;
                timer = _timer;
                _timer = null;
                onCancel = _onCancel;
                _onCancel = default;
            }

            timer?.Dispose();
            onCancel.Dispose();
            owner.Remove(this);
            return true;
        }

        /// <summary>Runs the action once unless cancelled; false when it threw (logged, never thrown into the timer).</summary>
        public bool RunOnce()
        {
            if (cancelable?.IsCancellationRequested == true)
            {
                return true;
            }

            try
            {
                action();
                return true;
            }
            catch (SchedulerException)
            {
                // The target already stopped (the wheel ignores these too).
                return true;
            }
            catch (Exception ex)
            {
                owner.Log.Error(ex, "Exception while executing a scheduled task");
                return false;
            }
        }

        // Under _lock (so it never touches a released timer), with _timer set: waits `wait` from now. A fake
        // TimeProvider may call Fire from Change on this thread; the lock is re-entrant.
        private void Arm(TimeSpan wait)
        {
            _armedAt = owner._time.GetTimestamp();
            _wait = wait;
            _timer!.Change(TimerDue(wait), Timeout.InfiniteTimeSpan);
        }

        // A timer must not capture the scheduling caller's execution context (an actor's, a test's async locals).
        private ITimer CreateTimer(TimeProvider time)
        {
            bool restore = false;
            try
            {
                if (!ExecutionContext.IsFlowSuppressed())
                {
                    ExecutionContext.SuppressFlow();
                    restore = true;
                }

                return time.CreateTimer(static state => ((Registration)state!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            finally
            {
                if (restore)
                {
                    ExecutionContext.RestoreFlow();
                }
            }
        }

        private void Fire()
        {
            if (cancelable?.IsCancellationRequested == true)
            {
                Release();
                return;
            }

            lock (_lock)
            {
                if (_released)
                {
                    return;
                }

                var left = _wait - owner._time.GetElapsedTime(_armedAt);
                if (left > TimeSpan.Zero)
                {
                    // Fired early (coarse clock) or a step of a long delay: wait for the rest.
                    _timer!.Change(TimerDue(left), Timeout.InfiniteTimeSpan);
                    return;
                }
            }

            if (!Repeats)
            {
                // Exactly once: whoever releases it (this timer, or shutdown) runs it.
                if (Release())
                {
                    RunOnce();
                }

                return;
            }

            if (!RunOnce())
            {
                // A failed repeating task is not repeated (as the wheel does).
                Release();
                return;
            }

            lock (_lock)
            {
                if (!_released)
                {
                    Arm(interval);
                }
            }
        }
    }
}
