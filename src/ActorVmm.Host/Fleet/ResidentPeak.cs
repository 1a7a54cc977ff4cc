namespace ActorVmm.Host.Fleet;

/// <summary>
/// The fleet's memory figures: RSS before the first launch, the peak while VMs were alive and, in hold mode, RSS
/// once every VM was alive and halted. The peak is the highest of every RSS sample and the kernel's high-water mark
/// (reset at <see cref="Begin"/>), so VMs that start and end between two samples still count; a sample taken after
/// the VMs ended can never lower it.
/// </summary>
public sealed class ResidentPeak
{
    private readonly Func<long> _resident;
    private readonly Func<long> _highWaterMark;
    private readonly Func<bool> _resetHighWaterMark;
    private bool _highWaterMarkValid;

    /// <summary>Over this process's /proc figures.</summary>
    public ResidentPeak()
        : this(HostMemory.ResidentBytes, HostMemory.PeakResidentBytes, HostMemory.ResetPeak)
    {
    }

    /// <summary>Over the given sources (tests).</summary>
    /// <param name="resident">Current RSS in bytes.</param>
    /// <param name="highWaterMark">Peak RSS in bytes since the last reset.</param>
    /// <param name="resetHighWaterMark">Resets the peak to the current RSS; false when it cannot (the peak is then not used).</param>
    public ResidentPeak(Func<long> resident, Func<long> highWaterMark, Func<bool> resetHighWaterMark)
    {
        _resident = resident ?? throw new ArgumentNullException(nameof(resident));
        _highWaterMark = highWaterMark ?? throw new ArgumentNullException(nameof(highWaterMark));
        _resetHighWaterMark = resetHighWaterMark ?? throw new ArgumentNullException(nameof(resetHighWaterMark));
    }

    /// <summary>RSS when <see cref="Begin"/> ran.</summary>
    public long Before { get; private set; }

    /// <summary>Highest RSS seen since <see cref="Begin"/>.</summary>
    public long Peak { get; private set; }

    /// <summary>RSS when every VM was alive (<see cref="SampleAllAlive"/>), or null when not taken.</summary>
    public long? AllAlive { get; private set; }

    /// <summary>Takes the baseline (call after a full GC, before the first launch) and resets the kernel's peak.</summary>
    public void Begin()
    {
        Before = _resident();
        Peak = Before;
        AllAlive = null;
        _highWaterMarkValid = _resetHighWaterMark();
    }

    /// <summary>Takes an RSS sample while VMs run.</summary>
    public void Sample() => Peak = Math.Max(Peak, _resident());

    /// <summary>Takes the sample with every VM alive (hold mode); it counts towards the peak too.</summary>
    public void SampleAllAlive()
    {
        long resident = _resident();
        AllAlive = resident;
        Peak = Math.Max(Peak, resident);
    }

    /// <summary>Folds in the kernel's high-water mark; call at the end of the run, before anything else allocates.</summary>
    public void Finish()
    {
        Sample();
        if (_highWaterMarkValid)
        {
            Peak = Math.Max(Peak, _highWaterMark());
        }
    }
}
