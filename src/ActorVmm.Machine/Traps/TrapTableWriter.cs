namespace ActorVmm.Machine.Traps;

/// <summary>
/// The write capability of a <see cref="TrapTable"/>, handed out once by <see cref="TrapTable.ClaimWriter"/>
/// (to the VM's supervisor). Registration and the checked move are configuration: they reject invalid
/// placements and overlaps with a message naming both regions. Guest-driven placement (BARs) goes
/// through the <see cref="RegionControl"/> the writer grants per region.
/// </summary>
public sealed class TrapTableWriter
{
    internal TrapTableWriter(TrapTable table) => Table = table;

    /// <summary>The table this writer changes (its read side).</summary>
    public TrapTable Table { get; }

    /// <summary>
    /// Registers a region. Rejects zero length, wrap-around and PIO beyond 0xFFFF; an enabled region is
    /// also rejected when it overlaps a decoding region. A region registered disabled (a BAR before the
    /// guest enables decoding) may overlap anything: it does not decode until enabled.
    /// </summary>
    /// <exception cref="TrapRegistrationException">The region is invalid or overlaps another; the message names both.</exception>
    public RegionHandle Register(TrapBus bus, ulong baseAddress, ulong length, TrapHandler handler, TrapFlags flags = TrapFlags.None, string? name = null, bool enabled = true)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Table.Register(bus, baseAddress, length, handler, flags, name, enabled);
    }

    /// <summary>Removes a region; a region it shadowed starts decoding. Lookups already in flight may still call its handler once.</summary>
    /// <returns>False when the handle is not registered (already removed).</returns>
    public bool Unregister(RegionHandle handle) => Table.Unregister(handle);

    /// <summary>Moves a region as configuration: rejected like a registration, and the table is then unchanged.</summary>
    /// <exception cref="TrapRegistrationException">The new range is invalid or overlaps a decoding region.</exception>
    /// <exception cref="KeyNotFoundException">The handle is not registered.</exception>
    public void Move(RegionHandle handle, ulong newBase) => Table.MoveChecked(handle, newBase);

    /// <summary>The placement capability for one region, to grant to the device that owns it.</summary>
    /// <exception cref="KeyNotFoundException">The handle is not registered.</exception>
    public RegionControl Control(RegionHandle handle) => Table.Control(handle);

    /// <summary>Points a region at a new handler (a restarted device instance); the new handler starts unquarantined.</summary>
    /// <exception cref="KeyNotFoundException">The handle is not registered.</exception>
    public void Repoint(RegionHandle handle, TrapHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Table.Repoint(handle, handler);
    }

    /// <summary>Quarantines a region's handler: until re-pointed or released the region answers as an empty bus.</summary>
    /// <returns>False when the handle is not registered.</returns>
    public bool Quarantine(RegionHandle handle) => Table.SetQuarantine(handle, quarantined: true);

    /// <summary>Lifts a quarantine without changing the handler.</summary>
    /// <returns>False when the handle is not registered.</returns>
    public bool Release(RegionHandle handle) => Table.SetQuarantine(handle, quarantined: false);
}
