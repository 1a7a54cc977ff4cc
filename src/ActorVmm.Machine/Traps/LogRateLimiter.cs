using System.Diagnostics;

namespace ActorVmm.Machine.Traps;

/// <summary>Allows a bounded number of log lines per second; used only off the normal hot path.</summary>
internal sealed class LogRateLimiter(int perSecond)
{
    private long _windowStart;
    private int _inWindow;
    private long _suppressed;

    /// <summary>True when one more line may be logged now; reports how many were suppressed before it.</summary>
    public bool TryAcquire(out long suppressedBefore)
    {
        lock (this)
        {
            long now = Stopwatch.GetTimestamp();
            if (now - _windowStart >= Stopwatch.Frequency)
            {
                _windowStart = now;
                _inWindow = 0;
            }

            if (_inWindow < perSecond)
            {
                _inWindow++;
                suppressedBefore = _suppressed;
                _suppressed = 0;
                return true;
            }

            _suppressed++;
            suppressedBefore = 0;
            return false;
        }
    }
}
