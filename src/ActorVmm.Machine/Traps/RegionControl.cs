namespace ActorVmm.Machine.Traps;

/// <summary>
/// The capability over one region that the supervisor grants to its device: place, move, enable or
/// disable it the way a PCI BAR and the command register's decode enables do. Every operation is
/// synchronous and safe from inside the device's own trap handler on a vCPU thread: when it returns,
/// the new placement is published, so the guest's next access already sees it. None throws. A
/// placement onto a range that another region was decoding first leaves this region shadowed (not
/// decoding) until the conflict goes away; an invalid placement (wrapping past 2^64, ports beyond
/// 0xFFFF) simply does not decode. After the region is unregistered the operations do nothing.
/// </summary>
public sealed class RegionControl
{
    private readonly TrapTable _table;
    private volatile TrapRegion _current;
    private volatile bool _registered = true;

    internal RegionControl(TrapTable table, TrapRegion region)
    {
        _table = table;
        _current = region;
    }

    /// <summary>The region's handle.</summary>
    public RegionHandle Handle => _current.Handle;

    /// <summary>The region's current version (placement, enable and decode state).</summary>
    public TrapRegion Region => _current;

    /// <summary>The current base (where the region decodes when enabled and not shadowed).</summary>
    public ulong Base => _current.Base;

    /// <summary>Decoding is switched on.</summary>
    public bool IsEnabled => _current.IsEnabled;

    /// <summary>Accesses to the placement reach the region now.</summary>
    public bool IsDecoding => _current.IsDecoding;

    /// <summary>False once the region is unregistered.</summary>
    public bool IsRegistered => _registered;

    /// <summary>Moves the region to <paramref name="newBase"/>, keeping its enable state (a BAR write).</summary>
    public void Move(ulong newBase) => _table.Place(this, newBase, enabled: null);

    /// <summary>Switches decoding on or off in place (the PCI command register's memory/IO enable).</summary>
    public void SetEnabled(bool enabled) => _table.Place(this, newBase: null, enabled);

    /// <summary>Moves and enables or disables in one publish.</summary>
    public void Place(ulong newBase, bool enabled) => _table.Place(this, newBase, enabled);

    /// <inheritdoc />
    public override string ToString() => _current.ToString();

    /// <summary>Set by the table under its write lock.</summary>
    internal TrapRegion Current
    {
        get => _current;
        set => _current = value;
    }

    /// <summary>Cleared by the table under its write lock when the region is unregistered.</summary>
    internal void MarkUnregistered() => _registered = false;
}
