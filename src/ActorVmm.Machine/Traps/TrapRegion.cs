using System.Runtime.CompilerServices;

namespace ActorVmm.Machine.Traps;

/// <summary>
/// One region as one version of the table saw it: placement, enable and decode state, handler.
/// A move, enable, disable or re-point makes a new version with the same handle, the same counters
/// and (unless re-pointed) the same handler binding; versions are immutable except for the
/// quarantine flag, which belongs to the handler binding.
/// </summary>
public sealed class TrapRegion
{
    internal TrapRegion(RegionHandle handle, string name, TrapBus bus, ulong baseAddress, ulong length, TrapFlags flags, RegionBinding binding, RegionCounters counters, bool enabled, bool decoding, long placedAt)
    {
        Handle = handle;
        Name = name;
        Bus = bus;
        Base = baseAddress;
        Length = length;
        Last = baseAddress + length - 1;
        Flags = flags;
        Binding = binding;
        Counters = counters;
        CounterCells = counters.Cells;
        IsEnabled = enabled;
        IsDecoding = decoding;
        PlacedAt = placedAt;
    }

    /// <summary>The registration handle.</summary>
    public RegionHandle Handle { get; }

    /// <summary>Human-readable owner name used in logs and error messages.</summary>
    public string Name { get; }

    /// <summary>The bus.</summary>
    public TrapBus Bus { get; }

    /// <summary>First address of the region.</summary>
    public ulong Base { get; }

    /// <summary>Size in bytes (ports on the PIO bus).</summary>
    public ulong Length { get; }

    /// <summary>Last address inside the region (inclusive; wraps when the placement is invalid).</summary>
    public ulong Last { get; }

    /// <summary>Registration flags.</summary>
    public TrapFlags Flags { get; }

    /// <summary>The handler called for accesses inside the region.</summary>
    public TrapHandler Handler => Binding.Handler;

    /// <summary>True while the region's handler is quarantined: accesses answer as an empty bus.</summary>
    public bool IsQuarantined => Binding.IsQuarantined;

    /// <summary>Per-vCPU access counters, kept across moves and re-points.</summary>
    public RegionCounters Counters { get; }

    /// <summary>Decoding is switched on (a PCI BAR's memory/IO enable); fixed regions are always enabled.</summary>
    public bool IsEnabled { get; }

    /// <summary>
    /// Accesses reach the region: it is enabled, its placement is valid, and it does not overlap a region
    /// that was decoding there first. An enabled region that does not decode is shadowed.
    /// </summary>
    public bool IsDecoding { get; }

    /// <summary>True when the region is enabled but not decoding (overlapped, or placed where nothing can decode).</summary>
    public bool IsShadowed => IsEnabled && !IsDecoding;

    internal RegionBinding Binding { get; }

    /// <summary>The cells of <see cref="Counters"/>, referenced directly by the hot path.</summary>
    internal long[] CounterCells { get; }

    /// <summary>
    /// Epochs of its bus's snapshots holding this version as decoding: [<see cref="LiveFrom"/>,
    /// <see cref="LiveUntil"/>). Set by the writer: LiveFrom before the version is first published or
    /// indexed, LiveUntil before the snapshot that drops it is published; so a lookup can trust an index
    /// entry for the snapshot it read. Both stay <see cref="long.MaxValue"/> for a version never published.
    /// </summary>
    internal long LiveFrom = long.MaxValue;

    /// <inheritdoc cref="LiveFrom"/>
    internal long LiveUntil = long.MaxValue;

    /// <summary>Table clock when the region last became enabled at its placement; earlier wins a conflict.</summary>
    internal long PlacedAt { get; }

    /// <summary>True when the placement lies inside the bus (no wrap past 2^64, no port beyond 0xFFFF).</summary>
    internal bool HasValidPlacement => IsValidPlacement(Bus, Base, Length);

    internal TrapRegion With(ulong baseAddress, bool enabled, bool decoding, long placedAt) =>
        new(Handle, Name, Bus, baseAddress, Length, Flags, Binding, Counters, enabled, decoding, placedAt);

    internal TrapRegion WithDecoding(bool decoding) =>
        decoding == IsDecoding ? this : new(Handle, Name, Bus, Base, Length, Flags, Binding, Counters, IsEnabled, decoding, PlacedAt);

    internal TrapRegion WithBinding(RegionBinding binding) =>
        new(Handle, Name, Bus, Base, Length, Flags, binding, Counters, IsEnabled, IsDecoding, PlacedAt);

    /// <summary>True when this version decodes in the snapshot of <paramref name="epoch"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool IsLiveIn(long epoch) => Volatile.Read(ref LiveFrom) <= epoch && epoch < Volatile.Read(ref LiveUntil);

    /// <summary>True when the placement holds all of [address, address + length); no wrap-around arithmetic.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Holds(ulong address, int length)
    {
        // An address below the base wraps to a huge offset and fails the first test.
        ulong offset = address - Base;
        return offset < Length && (ulong)(length - 1) <= Length - 1 - offset;
    }

    /// <summary>True when [first, last] intersects this region's placement.</summary>
    internal bool Overlaps(ulong first, ulong last) => Base <= last && first <= Last;

    internal static bool IsValidPlacement(TrapBus bus, ulong baseAddress, ulong length)
    {
        if (length == 0)
        {
            return false;
        }

        ulong last = baseAddress + length - 1;
        return last >= baseAddress && (bus != TrapBus.Pio || last <= TrapTable.MaxPort);
    }

    /// <summary>Describes the region for messages: <c>'com1' Pio [0x3F8..0x3FF]</c>.</summary>
    public override string ToString() => Describe(Name, Bus, Base, Base + Length - 1);

    internal static string Describe(string name, TrapBus bus, ulong first, ulong last) =>
        $"'{name}' {bus} [0x{first:X}..0x{last:X}]";
}
