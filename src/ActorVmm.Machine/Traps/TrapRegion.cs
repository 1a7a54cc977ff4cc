namespace ActorVmm.Machine.Traps;

/// <summary>
/// One registered region as it appears in an immutable snapshot. A move, re-point or quarantine
/// publishes a new <see cref="TrapRegion"/> with the same handle and the same counters.
/// </summary>
public sealed class TrapRegion
{
    internal TrapRegion(RegionHandle handle, string name, TrapBus bus, ulong baseAddress, ulong length, TrapFlags flags, TrapHandler handler, bool quarantined, RegionCounters counters)
    {
        Handle = handle;
        Name = name;
        Bus = bus;
        Base = baseAddress;
        Length = length;
        Flags = flags;
        Handler = handler;
        IsQuarantined = quarantined;
        Counters = counters;
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

    /// <summary>Last address inside the region (inclusive).</summary>
    public ulong Last => Base + Length - 1;

    /// <summary>Registration flags.</summary>
    public TrapFlags Flags { get; }

    /// <summary>The handler called for accesses inside the region.</summary>
    public TrapHandler Handler { get; }

    /// <summary>True while the region behaves as an empty bus (its device failed or is restarting).</summary>
    public bool IsQuarantined { get; }

    /// <summary>Per-vCPU access counters, kept across moves and re-points.</summary>
    public RegionCounters Counters { get; }

    internal TrapRegion With(ulong? baseAddress = null, TrapHandler? handler = null, bool? quarantined = null) =>
        new(Handle, Name, Bus, baseAddress ?? Base, Length, Flags, handler ?? Handler, quarantined ?? IsQuarantined, Counters);

    /// <summary>Describes the region for messages: <c>'com1' Pio [0x3F8..0x3FF]</c>.</summary>
    public override string ToString() => Describe(Name, Bus, Base, Base + Length - 1);

    internal static string Describe(string name, TrapBus bus, ulong first, ulong last) =>
        $"'{name}' {bus} [0x{first:X}..0x{last:X}]";
}
