using ActorVmm.Machine.Traps;

namespace ActorVmm.Machine.Interrupts;

/// <summary>
/// A guest write that rings a device's doorbell instead of trapping into its register handler: a
/// write of exactly <see cref="Length"/> bytes at exactly <see cref="Address"/> on <see cref="Bus"/>,
/// and, when <see cref="DataMatch"/> is set, only of that value (a virtio queue notify with the
/// queue index as the value). The rules are KVM's ioeventfd rules, on both backends.
/// </summary>
/// <param name="Bus">Port I/O or MMIO.</param>
/// <param name="Address">The notify address.</param>
/// <param name="Length">1, 2, 4 or 8 bytes (8 on MMIO only).</param>
/// <param name="DataMatch">The value a write must carry, or null for any value.</param>
public sealed record Doorbell(TrapBus Bus, ulong Address, int Length, ulong? DataMatch = null)
{
    /// <summary>Throws <see cref="ArgumentException"/> with a clear message when the doorbell cannot exist.</summary>
    public void Validate()
    {
        if (Length is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentException($"A doorbell covers 1, 2, 4 or 8 bytes, not {Length}");
        }

        if (Address > ulong.MaxValue - (ulong)(Length - 1))
        {
            throw new ArgumentException($"A doorbell at 0x{Address:X} of {Length} bytes wraps around the address space");
        }

        if (Bus == TrapBus.Pio && (Length == 8 || Address + (ulong)Length - 1 > TrapTable.MaxPort))
        {
            throw new ArgumentException($"A port doorbell lies in ports 0..0xFFFF and covers at most 4 bytes (0x{Address:X}, {Length} bytes)");
        }

        if (DataMatch is { } value && Length < 8 && value >> (8 * Length) != 0)
        {
            throw new ArgumentException($"Data match 0x{value:X} does not fit in a {Length}-byte write");
        }
    }

    /// <summary>
    /// True when both doorbells would claim the same write (KVM refuses such a pair with EEXIST):
    /// same bus, address and length, and either matches any value or both match the same one.
    /// </summary>
    public bool CollidesWith(Doorbell other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Bus == other.Bus && Address == other.Address && Length == other.Length
            && (DataMatch is null || other.DataMatch is null || DataMatch == other.DataMatch);
    }

    /// <summary>True when a guest write of <paramref name="length"/> bytes of <paramref name="value"/> at <paramref name="address"/> rings this doorbell.</summary>
    public bool Matches(ulong address, int length, ulong value) =>
        address == Address && length == Length && (DataMatch is not { } match || value == match);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Bus} 0x{Address:X}/{Length}{(DataMatch is { } value ? $" = 0x{value:X}" : string.Empty)}";
}
