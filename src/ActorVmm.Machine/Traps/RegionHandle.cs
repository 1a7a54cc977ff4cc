namespace ActorVmm.Machine.Traps;

/// <summary>Identifies a registered region across moves, re-points and quarantine.</summary>
/// <param name="Id">Table-unique id; 0 is never issued.</param>
public readonly record struct RegionHandle(long Id)
{
    /// <inheritdoc />
    public override string ToString() => $"region#{Id}";
}
