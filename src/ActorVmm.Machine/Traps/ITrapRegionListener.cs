namespace ActorVmm.Machine.Traps;

/// <summary>
/// Told about regions entering the table and starting or stopping to decode, under the table's
/// write lock (never on the lookup path); decode changes are told once the change is published.
/// The KVM backend uses it to keep the kernel's coalesced zones on the placements that decode.
/// Internal: a backend hands it to the table it creates.
/// </summary>
internal interface ITrapRegionListener
{
    /// <summary>A region is about to be registered; throw <see cref="TrapRegistrationException"/> to refuse it.</summary>
    void OnRegistering(TrapRegion region);

    /// <summary>
    /// The region decodes at its placement from now on. May run on a vCPU thread (a BAR write from
    /// inside a trap): it must neither block nor throw.
    /// </summary>
    void OnDecodeStarted(TrapRegion region);

    /// <summary>The region no longer decodes at its placement (moved, disabled, shadowed or removed). Same rules.</summary>
    void OnDecodeStopped(TrapRegion region);
}
