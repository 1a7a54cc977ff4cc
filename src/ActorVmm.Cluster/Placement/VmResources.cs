namespace ActorVmm.Cluster.Placement;

/// <summary>Guest RAM and vCPUs: what a VM needs, what a node declares it can give, or what it already gives.</summary>
/// <param name="MemoryBytes">Guest RAM in bytes.</param>
/// <param name="Vcpus">vCPUs.</param>
public readonly record struct VmResources(ulong MemoryBytes, int Vcpus)
{
    /// <summary>Nothing (a shard whose VM is gone or ended).</summary>
    public static VmResources Zero => default;

    /// <summary>True when nothing is asked for.</summary>
    public bool IsZero => MemoryBytes == 0 && Vcpus == 0;

    /// <summary>The sum of two amounts.</summary>
    public static VmResources operator +(VmResources left, VmResources right) =>
        new(left.MemoryBytes + right.MemoryBytes, left.Vcpus + right.Vcpus);

    /// <summary>The sum of two amounts (CA2225's named alternative to +).</summary>
    public static VmResources Add(VmResources left, VmResources right) => left + right;

    /// <summary>True when <paramref name="request"/> fits into what is left of this capacity after <paramref name="used"/>.</summary>
    public bool Fits(VmResources used, VmResources request) =>
        used.MemoryBytes <= MemoryBytes && request.MemoryBytes <= MemoryBytes - used.MemoryBytes
        && used.Vcpus <= Vcpus && request.Vcpus <= Vcpus - used.Vcpus;

    /// <summary>What is left of this capacity after <paramref name="used"/> (never below zero).</summary>
    public VmResources FreeAfter(VmResources used) =>
        new(used.MemoryBytes >= MemoryBytes ? 0 : MemoryBytes - used.MemoryBytes, Math.Max(0, Vcpus - used.Vcpus));

    /// <inheritdoc />
    public override string ToString() => $"{Format(MemoryBytes)} and {Vcpus} vCPU{(Vcpus == 1 ? string.Empty : "s")}";

    /// <summary>Bytes with the largest binary unit that divides them (1 MiB, 64 MiB, 1536 KiB).</summary>
    public static string Format(ulong bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        int unit = 0;
        while (unit < units.Length - 1 && bytes >= 1024 && bytes % 1024 == 0)
        {
            bytes /= 1024;
            unit++;
        }

        return $"{bytes} {units[unit]}";
    }
}
