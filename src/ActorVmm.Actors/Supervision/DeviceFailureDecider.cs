using ActorVmm.Actors.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Supervision;

/// <summary>
/// The device supervisor's decider: a failing device is restarted (fresh instance, regions
/// re-pointed) while it stays within its restart limit, and stopped (regions left quarantined)
/// past it. The decision itself is the supervisor's (it owns the restart windows); this class
/// unwraps the failure to find the device and never lets a device failure escalate to the VM.
/// </summary>
public sealed class DeviceFailureDecider : IDecider
{
    private readonly Func<DeviceFaultException, Directive> _onDeviceFault;
    private readonly Action<Exception> _onForeignFault;

    /// <summary>Creates the decider.</summary>
    /// <param name="onDeviceFault">Decides for a failure that names its device (restart or stop).</param>
    /// <param name="onForeignFault">Told about a failure that names no device (its child is stopped).</param>
    public DeviceFailureDecider(Func<DeviceFaultException, Directive> onDeviceFault, Action<Exception> onForeignFault)
    {
        _onDeviceFault = onDeviceFault ?? throw new ArgumentNullException(nameof(onDeviceFault));
        _onForeignFault = onForeignFault ?? throw new ArgumentNullException(nameof(onForeignFault));
    }

    /// <inheritdoc />
    public Directive Decide(Exception cause)
    {
        var fault = Unwrap(cause);
        if (fault is not null)
        {
            return _onDeviceFault(fault);
        }

        _onForeignFault(cause);
        return Directive.Stop;
    }

    /// <summary>Finds the device fault inside Akka's wrappers (a throw in PreStart arrives as an ActorInitializationException).</summary>
    public static DeviceFaultException? Unwrap(Exception? cause)
    {
        for (var e = cause; e is not null; e = e.InnerException)
        {
            if (e is DeviceFaultException fault)
            {
                return fault;
            }
        }

        return null;
    }
}
