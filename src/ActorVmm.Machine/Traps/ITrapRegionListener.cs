namespace ActorVmm.Machine.Traps;

/// <summary>
/// Told about regions entering and leaving the table, under the table's write lock (never on the
/// lookup path). The KVM backend uses it to register coalesced zones with the kernel.
/// </summary>
public interface ITrapRegionListener
{
    /// <summary>A region is about to be published; throw <see cref="TrapRegistrationException"/> to reject it.</summary>
    void OnRegionAdding(TrapRegion region);

    /// <summary>A region was removed from the published table.</summary>
    void OnRegionRemoved(TrapRegion region);
}
