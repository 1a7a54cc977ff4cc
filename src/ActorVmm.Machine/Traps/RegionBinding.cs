namespace ActorVmm.Machine.Traps;

/// <summary>
/// A region's handler together with its quarantine flag. Every snapshot version of a region that
/// calls the same handler shares one binding, so the dispatcher quarantines a failed handler with a
/// single volatile store instead of publishing a new table on the vCPU thread. A re-point binds a
/// fresh handler with a fresh flag: a vCPU still holding the old snapshot finds the old binding
/// quarantined and never calls the failed instance.
/// </summary>
internal sealed class RegionBinding(TrapHandler handler)
{
    private volatile bool _quarantined;

    public TrapHandler Handler { get; } = handler;

    public bool IsQuarantined => _quarantined;

    /// <summary>Sets the flag; true when this call set it (the first fault of this handler).</summary>
    public bool Quarantine()
    {
        if (_quarantined)
        {
            return false;
        }

        _quarantined = true;
        return true;
    }

    public void Release() => _quarantined = false;
}
