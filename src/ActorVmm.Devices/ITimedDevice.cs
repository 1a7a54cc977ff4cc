namespace ActorVmm.Devices;

/// <summary>
/// A device whose state machine has time-driven events (RTC periodic/alarm/update interrupts, PIT
/// channel 0). Its actor adapter calls <see cref="OnTimer"/> from a single timer (IWithTimers) and
/// re-arms it with the returned delay; <see cref="ScheduleChanged"/> tells the actor (by a message
/// it posts to itself) that the guest reprogrammed the device and the timer must be re-armed now.
/// The device never reads a wall clock itself: time comes from its injected TimeProvider.
/// </summary>
public interface ITimedDevice
{
    /// <summary>Delivers the events due by now and returns the delay until the next one, or null when none is scheduled.</summary>
    TimeSpan? OnTimer();

    /// <summary>Raised (outside the device lock, possibly on a vCPU thread) when the next due time may have changed. Must not block.</summary>
    event Action? ScheduleChanged;
}
