using ActorVmm.Actors.Console;
using ActorVmm.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Devices;

/// <summary>
/// The one actor adapter of every device: it builds a fresh instance from the factory on every (re)start and
/// announces it to the supervisor (which points the regions at it), and does the device's slow-path work, chosen
/// by what the instance implements: <see cref="ITimedDevice"/> is ticked from one IWithTimers timer,
/// <see cref="IConsoleInputDevice"/> takes host input as the guest reads it, <see cref="ISlowPathDevice"/> gets the
/// messages it posted to itself and the commands sent to it by name. Any exception it throws is wrapped in a
/// <see cref="DeviceFaultException"/> naming the device.
/// </summary>
public sealed class DeviceActor : ReceiveActor, IWithTimers
{
    /// <summary>Slow path name used in fault messages.</summary>
    public const string SlowPath = "slow path";

    /// <summary>Hot path name used in fault messages.</summary>
    public const string HotPath = "hot path";

    private const string TimerKey = "device-timer";

    private readonly DeviceSetup _setup;
    private IDevice? _device;
    private ITimedDevice? _timed;
    private IActorRef _self = ActorRefs.Nobody;
    private int _reschedulePending;

    /// <summary>Creates the adapter; the device instance is built in <see cref="PreStart"/>.</summary>
    public DeviceActor(DeviceSetup setup)
    {
        _setup = setup ?? throw new ArgumentNullException(nameof(setup));
        Receive<DeviceProtocol.HotPathFaulted>(OnHotPathFaulted);
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
    public static Props Props(DeviceSetup setup) => Akka.Actor.Props.Create(() => new DeviceActor(setup));

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    private string DeviceName => _setup.Definition.Name;

    /// <inheritdoc />
    protected override void PreStart()
    {
        IDevice device;
        _self = Self;
        try
        {
            device = _setup.Definition.Factory(new DeviceContext(DeviceName, _setup.Environment, new ActorMailbox(Self), _setup.Input));
        }
        catch (Exception ex)
        {
            throw new DeviceFaultException(DeviceName, "factory", null, ex);
        }

        _device = device;
        Context.Parent.Tell(new DeviceProtocol.InstanceCreated(DeviceName, device, Self));
        if (device is ITimedDevice timed)
        {
            _timed = timed;
            timed.ScheduleChanged += OnScheduleChanged;
            Fire();
        }

        // Input that arrived before the failure is still waiting: let the fresh instance signal it.
        if (device is IConsoleInputDevice receiver && (!_setup.Input.IsEmpty || !_setup.Backlog.IsEmpty))
        {
            FeedInput(receiver);
        }
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (_timed is not null)
        {
            _timed.ScheduleChanged -= OnScheduleChanged;
        }
    }

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

    private void OnHotPathFaulted(DeviceProtocol.HotPathFaulted message) =>
        throw new DeviceFaultException(DeviceName, HotPath, message.Fault.Region.ToString(), message.Fault.Exception);

    private void OnInput(ConsoleProtocol.Input input)
    {
        if (_device is not IConsoleInputDevice receiver)
        {
            Unhandled(input);
            return;
        }

        _setup.Backlog.Add(input.Data, Sender);
        FeedInput(receiver);
    }

    // Backlog → bounded queue → the device (its FIFO), then refill the queue from what the device made room for.
    // Whatever does not fit waits for the device's next InputSpaceAvailable; senders are answered as their chunks get in.
    private void FeedInput(IConsoleInputDevice receiver)
    {
        _setup.Backlog.MoveInto(_setup.Input);
        if (!_setup.Input.IsEmpty)
        {
            receiver.OnInputAvailable();
            _setup.Backlog.MoveInto(_setup.Input);
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

    /// <summary>A device's mailbox is its actor: a Tell never blocks.</summary>
    private sealed class ActorMailbox(IActorRef actor) : IDeviceMailbox
    {
        public void Post(object message) => actor.Tell(message, ActorRefs.NoSender);
    }
}
