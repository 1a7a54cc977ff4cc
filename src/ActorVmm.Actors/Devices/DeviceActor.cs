using ActorVmm.Actors.Console;
using ActorVmm.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Devices;

/// <summary>
/// The one actor adapter of every device: it does the slow-path work of the instance its supervisor installed in the
/// device's <see cref="DeviceCell"/>, chosen by what the instance implements: <see cref="ITimedDevice"/> is ticked from
/// one IWithTimers timer, <see cref="IConsoleInputDevice"/> takes host input as the guest reads it,
/// <see cref="ISlowPathDevice"/> gets the messages it posted to itself and the commands sent to it by name. It never
/// builds instances: the supervisor does, and tells it <see cref="DeviceProtocol.Attach"/>. Any exception it throws is
/// wrapped in a <see cref="DeviceFaultException"/> naming the device, so the supervisor rebuilds the instance and
/// restarts this actor.
/// </summary>
public sealed class DeviceActor : ReceiveActor, IWithTimers
{
    /// <summary>Slow path name used in fault messages.</summary>
    public const string SlowPath = "slow path";

    /// <summary>Hot path name used in fault messages.</summary>
    public const string HotPath = "hot path";

    private const string TimerKey = "device-timer";

    private readonly DeviceCell _cell;
    private IDevice? _device;
    private int _attachedGeneration;
    private ITimedDevice? _timed;
    private IActorRef _self = ActorRefs.Nobody;
    private int _reschedulePending;

    /// <summary>Creates the adapter of <paramref name="cell"/>'s device.</summary>
    public DeviceActor(DeviceCell cell)
    {
        _cell = cell ?? throw new ArgumentNullException(nameof(cell));
        Receive<DeviceProtocol.Attach>(attach =>
        {
            if (attach.Generation > _attachedGeneration)
            {
                AttachCurrent();
            }
        });
        Receive<DeviceProtocol.Tick>(_ => Fire());
        Receive<DeviceProtocol.Reschedule>(_ =>
        {
            Volatile.Write(ref _reschedulePending, 0);
            Fire();
        });
        Receive<ConsoleProtocol.Input>(OnInput);
        Receive<DeviceSignals.InputSpaceAvailable>(_ =>
        {
            if (_device is IConsoleInputDevice receiver)
            {
                FeedInput(receiver);
            }
        });
        ReceiveAny(OnSlowPathMessage);
    }

    /// <summary>Props of a device's actor.</summary>
    public static Props Props(DeviceCell cell) => Akka.Actor.Props.Create(() => new DeviceActor(cell));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    private string DeviceName => _cell.Name;

    /// <inheritdoc />
    protected override void PreStart()
    {
        _self = Self;

        // After a slow-path failure the supervisor rebuilt the instance before restarting this actor: take it over.
        if (_cell.Current is not null)
        {
            AttachCurrent();
        }
    }

    /// <inheritdoc />
    protected override void PostStop() => DetachTimer();

    /// <inheritdoc />
    protected override bool AroundReceive(Receive receive, object message)
    {
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (DeviceFaultException)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw new DeviceFaultException(DeviceName, SlowPath, null, ex);
        }
    }

    private void AttachCurrent()
    {
        var device = _cell.Current ?? throw new InvalidOperationException($"Device '{DeviceName}' has no instance to attach");
        DetachTimer();
        _device = device;
        _attachedGeneration = _cell.Generation;
        if (device is ITimedDevice timed)
        {
            _timed = timed;
            timed.ScheduleChanged += OnScheduleChanged;
        }

        Fire();

        // Input that arrived before a failure is still waiting: let the fresh instance signal it.
        if (device is IConsoleInputDevice receiver && (!_cell.Input.IsEmpty || !_cell.Backlog.IsEmpty))
        {
            FeedInput(receiver);
        }
    }

    private void DetachTimer()
    {
        if (_timed is not null)
        {
            _timed.ScheduleChanged -= OnScheduleChanged;
            _timed = null;
        }

        Timers?.Cancel(TimerKey);
    }

    private void OnInput(ConsoleProtocol.Input input)
    {
        if (_device is not IConsoleInputDevice receiver)
        {
            Unhandled(input);
            return;
        }

        _cell.Backlog.Add(input.Data, Sender);
        FeedInput(receiver);
    }

    // Backlog → bounded queue → the device (its FIFO), then refill the queue from what the device made room for.
    // Whatever does not fit waits for the device's next InputSpaceAvailable; senders are answered as their chunks get in.
    private void FeedInput(IConsoleInputDevice receiver)
    {
        _cell.Backlog.MoveInto(_cell.Input);
        if (!_cell.Input.IsEmpty)
        {
            receiver.OnInputAvailable();
            _cell.Backlog.MoveInto(_cell.Input);
        }
    }

    private void OnSlowPathMessage(object message)
    {
        if (_device is not ISlowPathDevice worker)
        {
            Unhandled(message);
            return;
        }

        switch (worker.OnSlowPath(message))
        {
            case DeviceSignals.NotUnderstood:
                Unhandled(message);
                break;
            case { } reply when !Sender.IsNobody():
                Sender.Tell(reply);
                break;
            default:
                break;
        }
    }

    private void Fire()
    {
        TimeSpan? next = _timed?.OnTimer();
        if (next is TimeSpan delay)
        {
            Timers.StartSingleTimer(TimerKey, DeviceProtocol.Tick.Instance, delay);
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
            _self.Tell(DeviceProtocol.Reschedule.Instance, ActorRefs.NoSender);
        }
    }
}

/// <summary>A device's mailbox is its actor: a Tell never blocks, so it is safe from a trap handler on a vCPU thread.</summary>
/// <param name="actor">The device's actor.</param>
internal sealed class ActorMailbox(IActorRef actor) : IDeviceMailbox
{
    /// <inheritdoc />
    public void Post(object message) => actor.Tell(message, ActorRefs.NoSender);
}
