namespace ActorVmm.Emulator.Time;

/// <summary>
/// The one time base of an emulated VM: nanoseconds of the injected <see cref="TimeProvider"/> since the VM was
/// created. The TSC and every local APIC timer count from it, and the PIT and RTC read the same provider (the VM
/// actor's, <see cref="TimeProvider.System"/> in the host), so a guest calibrating one timer against another sees
/// consistent rates, and every vCPU reads the same TSC (a monotonic, VM-wide clock: no TSC warps between vCPUs).
/// </summary>
/// <remarks>
/// Frequencies are fixed and documented (docs/emulator.md): the TSC runs at <see cref="TscHz"/> and the APIC timer's
/// input clock (the "bus clock" before the divide configuration) at <see cref="ApicTimerHz"/>, both 1 GHz as
/// KVM's APIC timer, so one count is one nanosecond before dividing.
/// </remarks>
internal sealed class VirtualClock
{
    /// <summary>The TSC frequency: 1 GHz (RDTSC and IA32_TSC count nanoseconds of virtual time).</summary>
    public const long TscHz = 1_000_000_000;

    /// <summary>The local APIC timer's input clock before the divide configuration: 1 GHz.</summary>
    public const long ApicTimerHz = 1_000_000_000;

    /// <summary>Nanoseconds per second.</summary>
    public const long NanosecondsPerSecond = 1_000_000_000;

    private readonly long _origin;

    /// <summary>Starts the clock at 0 now.</summary>
    public VirtualClock(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Time = time;
        _origin = time.GetTimestamp();
    }

    /// <summary>The provider the clock reads (and the one wake-up timers are created on).</summary>
    public TimeProvider Time { get; }

    /// <summary>Nanoseconds since the clock started.</summary>
    public long Nanoseconds
    {
        get
        {
            long ticks = Time.GetTimestamp() - _origin;
            long frequency = Time.TimestampFrequency;
            return frequency == NanosecondsPerSecond ? ticks : (long)((Int128)ticks * NanosecondsPerSecond / frequency);
        }
    }

    /// <summary>The TSC value of this instant (before any per-vCPU offset a guest wrote to IA32_TSC).</summary>
    public ulong Tsc => ToTsc(Nanoseconds);

    /// <summary>TSC ticks at <paramref name="nanoseconds"/> of virtual time.</summary>
    public static ulong ToTsc(long nanoseconds) => (ulong)((Int128)nanoseconds * TscHz / NanosecondsPerSecond);

    /// <summary>How long from now until <paramref name="deadline"/> (nanoseconds of virtual time); zero when it has passed.</summary>
    public TimeSpan Until(long deadline)
    {
        long remaining = deadline - Nanoseconds;
        return remaining <= 0 ? TimeSpan.Zero : TimeSpan.FromTicks((remaining + 99) / 100);
    }
}
