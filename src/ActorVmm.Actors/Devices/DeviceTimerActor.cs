using Akka.Actor;

namespace ActorVmm.Actors.Devices;

/// <summary>
/// Drives an <see cref="ITimedDevice"/> (RTC, PIT) from one IWithTimers single-shot timer: each
/// tick calls <see cref="ITimedDevice.OnTimer"/> and re-arms with the delay it returns; a
/// <see cref="ITimedDevice.ScheduleChanged"/> from a vCPU thread becomes one
/// <see cref="DeviceTimerProtocol.Reschedule"/> message (coalesced while one is in flight), so the
/// hot path never blocks and the device is only ever ticked from this actor.
/// </summary>
public sealed class DeviceTimerActor : ReceiveActor, IWithTimers
{
    private const string TimerKey = "device-timer";

    private readonly ITimedDevice _device;
    private IActorRef _self = ActorRefs.Nobody;
    private int _reschedulePending;

    /// <summary>Creates the actor for <paramref name="device"/>.</summary>
    public DeviceTimerActor(ITimedDevice device)
    {
        _device = device ?? throw new ArgumentNullException(nameof(device));
        Receive<DeviceTimerProtocol.Tick>(_ => Fire());
        Receive<DeviceTimerProtocol.Reschedule>(_ =>
        {
            Volatile.Write(ref _reschedulePending, 0);
            Fire();
        });
        ReceiveAny(Unhandled);
    }

    /// <summary>Timers (cancelled automatically when the actor stops or restarts).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props for an actor driving <paramref name="device"/>.</summary>
    public static Props Props(ITimedDevice device) => Akka.Actor.Props.Create(() => new DeviceTimerActor(device));

    /// <inheritdoc />
    protected override void PreStart()
    {
        _self = Self;
        _device.ScheduleChanged += OnScheduleChanged;
        Fire();
    }

    /// <inheritdoc />
    protected override void PostStop() => _device.ScheduleChanged -= OnScheduleChanged;

    private void Fire()
    {
        TimeSpan? next = _device.OnTimer();
        if (next is TimeSpan delay)
        {
            Timers.StartSingleTimer(TimerKey, DeviceTimerProtocol.Tick.Instance, delay);
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
            _self.Tell(DeviceTimerProtocol.Reschedule.Instance, ActorRefs.NoSender);
        }
    }
}
