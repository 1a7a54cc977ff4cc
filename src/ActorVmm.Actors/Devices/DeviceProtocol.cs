using ActorVmm.Devices;
using ActorVmm.Machine.Traps;
using Akka.Actor;

namespace ActorVmm.Actors.Devices;

/// <summary>Messages between a device actor, its instance and its supervisor.</summary>
public static class DeviceProtocol
{
    /// <summary>A device actor built a fresh instance (first start or restart); sent to the supervisor.</summary>
    /// <param name="DeviceName">The device.</param>
    /// <param name="Instance">The new instance whose handlers the regions must point at.</param>
    /// <param name="Actor">The device actor.</param>
    public sealed record InstanceCreated(string DeviceName, IDevice Instance, IActorRef Actor);

    /// <summary>The supervisor tells a device actor that its hot path threw; the actor fails with it so the restart is the same as for a slow-path failure.</summary>
    /// <param name="Fault">What the dispatcher caught.</param>
    public sealed record HotPathFaulted(TrapFault Fault);

    /// <summary>A timed device's timer fired: deliver its due events and re-arm.</summary>
    public sealed record Tick
    {
        private Tick()
        {
        }

        /// <summary>The single instance.</summary>
        public static Tick Instance { get; } = new();
    }

    /// <summary>The guest reprogrammed a timed device: ask it again when its next event is due.</summary>
    public sealed record Reschedule
    {
        private Reschedule()
        {
        }

        /// <summary>The single instance.</summary>
        public static Reschedule Instance { get; } = new();
    }
}
