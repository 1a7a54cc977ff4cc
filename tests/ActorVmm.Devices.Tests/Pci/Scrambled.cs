namespace ActorVmm.Devices.Tests.Pci;

/// <summary>
/// Spreads FsCheck's numbers: the properties take <c>DoNotSize&lt;ulong&gt;</c> (plain integers stay below ~100, mostly
/// 0, and would never reach a BAR's high bits or the sizing pattern), and each is mixed with its position
/// (SplitMix64's finalizer) so that the zeros shrinking produces still make distinct operations; deterministic, so a
/// shrunk counterexample replays.
/// </summary>
internal static class Scrambled
{
    private const ulong Golden = 0x9E37_79B9_7F4A_7C15;

    /// <summary>64 spread bits from a generated number and its index.</summary>
    public static ulong Bits(ulong generated, int index)
    {
        ulong z = generated + ((ulong)(index + 1) * Golden);
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }

    /// <summary>Bits <paramref name="shift"/>.. of <paramref name="bits"/>, reduced to 0..<paramref name="count"/>-1.</summary>
    public static int Field(ulong bits, int shift, int count) => (int)((bits >> shift) % (ulong)count);
}
