using Akka.Actor;

namespace ActorVmm.Actors.Devices;

/// <summary>
/// The actor adapter of an <see cref="ITimedDevice"/> (RTC, PIT): one IWithTimers single-shot
/// timer calls <see cref="ITimedDevice.OnTimer"/> and is re-armed with the delay it returns. A
/// <see cref="ITimedDevice.ScheduleChanged"/> raised on a vCPU thread becomes one
/// <see cref="TimedDeviceProtocol.Reschedule"/> message (coalesced while one is queued), so the hot
/// path never blocks and the device is only ever ticked from this actor. After a restart the fresh
/// instance is subscribed and ticked at once; the old one's subscription ends in <see cref="PostStop"/>.
/// </summary>
public sealed class TimedDeviceActor : DeviceActor
{
    private const string TimerKey = "device-timer";

    private ITimedDevice? _timed;
    private IActorRef _self = ActorRefs.Nobody;
    private int _reschedulePending;

    /// <summary>Creates the adapter; the definition's factory must build an <see cref="ITimedDevice"/>.</summary>
    public TimedDeviceActor(DeviceSetup setup)
        : base(setup)
    {
        Receive<TimedDeviceProtocol.Tick>(_ => Fire());
        Receive<TimedDeviceProtocol.Reschedule>(_ =>
        {
            Volatile.Write(ref _reschedulePending, 0);
            Fire();
        });
    }

    /// <summary>Props for a timed device's actor.</summary>
    public static new Props Props(DeviceSetup setup) => Akka.Actor.Props.Create(() => new TimedDeviceActor(setup));

    /// <inheritdoc />
    protected override void OnInstanceCreated()
    {
        _timed = Device as ITimedDevice
            ?? throw new InvalidOperationException($"Device '{DeviceName}' is a {Device.GetType().Name}, which has no timed events");
        _self = Self;
        _timed.ScheduleChanged += OnScheduleChanged;
        Fire();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (_timed is not null)
        {
            _timed.ScheduleChanged -= OnScheduleChanged;
        }

        base.PostStop();
    }

    private void Fire()
    {
        TimeSpan? next = _timed?.OnTimer();
        if (next is TimeSpan delay)
        {
            Timers.StartSingleTimer(TimerKey, TimedDeviceProtocol.Tick.Instance, delay);
        }
        else
        {
            Timers.Cancel(TimerKey);
        }
    }

    // Called on vCPU threads: a Tell never blocks; at most one Reschedule is queued at a time.
    private void OnScheduleChanged()
    {
        if (Interlocked.Exchange(ref _reschedulePending, 1) == 0)
        {
            _self.Tell(TimedDeviceProtocol.Reschedule.Instance, ActorRefs.NoSender);
        }
    }
}
