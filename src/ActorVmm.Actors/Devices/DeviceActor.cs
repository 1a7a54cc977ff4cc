using ActorVmm.Actors.Console;
using Akka.Actor;

namespace ActorVmm.Actors.Devices;

/// <summary>
/// The thin actor adapter around a device instance: it builds a fresh instance from the factory
/// on every (re)start and announces it to the supervisor (which points the regions at it), does the
/// device's slow-path work, and queues host input where the instance can take it as the guest reads.
/// Device-specific adapters derive from it and add receives for their own slow-path messages.
/// Any exception it throws is wrapped in a <see cref="DeviceFaultException"/> naming the device.
/// </summary>
public class DeviceActor : ReceiveActor, IWithTimers
{
    /// <summary>Slow path name used in fault messages.</summary>
    public const string SlowPath = "slow path";

    /// <summary>Hot path name used in fault messages.</summary>
    public const string HotPath = "hot path";

    private IDevice? _device;

    /// <summary>Creates the adapter; the device instance is built in <see cref="PreStart"/>.</summary>
    public DeviceActor(DeviceSetup setup)
    {
        Setup = setup ?? throw new ArgumentNullException(nameof(setup));
        Receive<DeviceProtocol.HotPathFaulted>(OnHotPathFaulted);
        Receive<ConsoleProtocol.Input>(OnInput);
        Receive<DeviceProtocol.InputSpaceAvailable>(_ =>
        {
            if (_device is IConsoleInputDevice receiver && !Setup.Input.IsEmpty)
            {
                receiver.OnInputAvailable();
            }
        });
    }

    /// <summary>Props for a device without slow-path work of its own.</summary>
    public static Props Props(DeviceSetup setup) => Akka.Actor.Props.Create(() => new DeviceActor(setup));

    /// <summary>Timers for slow-path work (cancelled automatically on restart).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The setup shared by every incarnation.</summary>
    protected DeviceSetup Setup { get; }

    /// <summary>The device's name.</summary>
    protected string DeviceName => Setup.Definition.Name;

    /// <summary>The current instance (fresh after every restart).</summary>
    protected IDevice Device => _device ?? throw new InvalidOperationException($"Device '{DeviceName}' has no instance yet");

    /// <inheritdoc />
    protected override void PreStart()
    {
        IDevice device;
        try
        {
            device = Setup.Definition.Factory(new DeviceContext(DeviceName, Setup.Environment, Self, Setup.Input));
        }
        catch (Exception ex)
        {
            throw new DeviceFaultException(DeviceName, "factory", null, ex);
        }

        _device = device;
        Context.Parent.Tell(new DeviceProtocol.InstanceCreated(DeviceName, device, Self));
        OnInstanceCreated();

        // Input that arrived before the failure is still waiting: let the fresh instance signal it.
        if (!Setup.Input.IsEmpty && device is IConsoleInputDevice receiver)
        {
            receiver.OnInputAvailable();
        }
    }

    /// <summary>Called after a fresh instance was built (start timers here).</summary>
    protected virtual void OnInstanceCreated()
    {
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
        if (Device is not IConsoleInputDevice receiver)
        {
            Unhandled(input);
            return;
        }

        Setup.Input.Add(input.Data.Span);
        receiver.OnInputAvailable();
    }
}

/// <summary>A device adapter with typed access to its instance.</summary>
/// <typeparam name="TDevice">The device type the factory builds.</typeparam>
public abstract class DeviceActor<TDevice> : DeviceActor
    where TDevice : class, IDevice
{
    /// <summary>Creates the adapter.</summary>
    protected DeviceActor(DeviceSetup setup)
        : base(setup)
    {
    }

    /// <summary>The current instance, typed.</summary>
    protected TDevice TypedDevice => Device as TDevice
        ?? throw new InvalidOperationException($"Device '{DeviceName}' is a {Device.GetType().Name}, not a {typeof(TDevice).Name}");
}
