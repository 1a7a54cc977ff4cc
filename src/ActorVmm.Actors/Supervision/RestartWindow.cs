namespace ActorVmm.Actors.Supervision;

/// <summary>
/// Counts a device's restarts in a sliding window: at most N restarts within the window; the next
/// failure is refused (the device is then quarantined for good).
/// </summary>
public sealed class RestartWindow
{
    private readonly Queue<DateTimeOffset> _restarts = new();
    private readonly int _maxRestarts;
    private readonly TimeSpan _within;
    private readonly TimeProvider _time;

    /// <summary>Creates a window.</summary>
    public RestartWindow(int maxRestarts, TimeSpan within, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRestarts);
        _maxRestarts = maxRestarts;
        _within = within;
        _time = time ?? throw new ArgumentNullException(nameof(time));
    }

    /// <summary>Total restarts granted.</summary>
    public int TotalRestarts { get; private set; }

    /// <summary>Records a failure; true when a restart is still allowed (and counts it), false past the limit.</summary>
    public bool TryRestart()
    {
        var now = _time.GetUtcNow();
        while (_restarts.Count > 0 && now - _restarts.Peek() >= _within)
        {
            _restarts.Dequeue();
        }

        if (_restarts.Count >= _maxRestarts)
        {
            return false;
        }

        _restarts.Enqueue(now);
        TotalRestarts++;
        return true;
    }
}
