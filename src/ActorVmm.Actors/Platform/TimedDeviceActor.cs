using ActorVmm.Actors.Devices;
using Akka.Actor;

namespace ActorVmm.Actors.Platform;

/// <summary>
/// The adapter of a time-driven device (RTC, PIT): every fresh instance gets a <see cref="DeviceTimerActor"/>
/// child that ticks it. A restart stops the old child with the old instance, so the new instance starts with
/// one timer of its own.
/// </summary>
public sealed class TimedDeviceActor : DeviceActor
{
    /// <summary>Creates the adapter.</summary>
    public TimedDeviceActor(DeviceSetup setup)
        : base(setup)
    {
    }

    /// <summary>Props for a time-driven device.</summary>
    public static new Props Props(DeviceSetup setup) => Akka.Actor.Props.Create(() => new TimedDeviceActor(setup));

    /// <inheritdoc />
    protected override void OnInstanceCreated()
    {
        if (Device is not ITimedDevice timed)
        {
            throw new InvalidOperationException($"Device '{DeviceName}' is a {Device.GetType().Name}, which is not an {nameof(ITimedDevice)}");
        }

        // Unnamed: the previous incarnation's child may still be terminating when a restart creates this one.
        Context.ActorOf(DeviceTimerActor.Props(timed));
    }
}
