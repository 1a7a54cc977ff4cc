using ActorVmm.Actors.Devices;
using ActorVmm.Devices;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Actors.Supervision;

/// <summary>
/// How a failed device's replacement is built: from the last state that can be read from the failed instance and
/// validated, else from power-on state. Runs on the supervisor, never on a vCPU thread.
/// </summary>
internal static class DeviceRebuild
{
    /// <summary>The outcome: the fresh instance, whether it carries the failed one's state, and why not when it does not.</summary>
    public sealed record Result(IDevice Instance, bool FromState, string Detail);

    /// <summary>The handler the trap table calls for region <paramref name="index"/> of <paramref name="device"/>.</summary>
    public static TrapHandler Handler(IDevice device, int index) => access => device.HandleTrap(index, access);

    /// <summary>The handlers of every region <paramref name="device"/> declares.</summary>
    public static TrapHandler[] Handlers(IDevice device)
    {
        var handlers = new TrapHandler[device.Regions.Count];
        for (int i = 0; i < handlers.Length; i++)
        {
            handlers[i] = Handler(device, i);
        }

        return handlers;
    }

    /// <summary>Builds the replacement of <paramref name="failed"/>; throws only when not even a power-on instance can be built.</summary>
    public static Result Rebuild(DeviceCell cell, IDeviceMailbox mailbox, IDevice? failed)
    {
        string why;
        DeviceState? state = null;
        try
        {
            state = failed?.CaptureState();
            state?.Validate();
            why = state is null ? "no instance to read a state from" : string.Empty;
        }
        catch (Exception ex)
        {
            // A device that failed may fail again when read: that is a reason to start from power-on, not a crash.
            state = null;
            why = $"its state could not be read or validated ({ex.GetType().Name}: {ex.Message})";
        }

        if (state is not null)
        {
            try
            {
                return new Result(cell.Build(mailbox, state), FromState: true, "rebuilt from its last state");
            }
            catch (Exception ex)
            {
                why = $"its state was refused ({ex.GetType().Name}: {ex.Message})";
            }
        }

        return new Result(cell.Build(mailbox, state: null), FromState: false, $"rebuilt from power-on state: {why}");
    }
}
