using System.Globalization;

namespace ActorVmm.KvmLane;

/// <summary>
/// Tells a hang of the lane program apart from a hang of the outer guest (shared/design/nested-kvm.md): each
/// guest or check is announced with a "LANE-STEP" line, and one that overruns its limit is reported with a
/// "LANE-HANG" line and ends the process with <see cref="HangExitCode"/>. When the outer guest itself locks up,
/// neither line appears and the lane script sees silence instead.
/// </summary>
public sealed class LaneWatchdog : IDisposable
{
    /// <summary>Exit code of a lane program stopped by the watchdog.</summary>
    public const int HangExitCode = 3;

    private readonly TimeSpan _limit;
    private readonly Timer _timer;
    private readonly Lock _gate = new();
    private string _step = "start";
    private DateTime _stepStarted = DateTime.UtcNow;

    /// <summary>Creates a watchdog that allows each step <paramref name="limit"/>.</summary>
    public LaneWatchdog(TimeSpan limit)
    {
        _limit = limit;
        _timer = new Timer(_ => Check(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Announces the next step and restarts its clock.</summary>
    public void Begin(string step)
    {
        lock (_gate)
        {
            _step = step;
            _stepStarted = DateTime.UtcNow;
        }

        Console.WriteLine($"LANE-STEP {step}");
    }

    /// <inheritdoc />
    public void Dispose() => _timer.Dispose();

    private void Check()
    {
        string step;
        TimeSpan elapsed;
        lock (_gate)
        {
            step = _step;
            elapsed = DateTime.UtcNow - _stepStarted;
        }

        if (elapsed > _limit)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"LANE-HANG {step} after {elapsed.TotalSeconds:F0} s"));
            Console.Out.Flush();
            Environment.Exit(HangExitCode);
        }
    }
}
