namespace ActorVmm.Emulator.Tests;

/// <summary>
/// Random binary32/binary64 bit patterns weighted towards the cases floating point gets wrong: signed zeros, infinities,
/// quiet and signalling NaNs, denormals, the largest finite values, halfway cases, integers and values near the integer
/// conversion limits, besides arbitrary bits and ordinary numbers of nearby magnitude.
/// </summary>
internal static class FloatPatterns
{
    private const uint SingleSign = 0x8000_0000;
    private const uint SingleInfinity = 0x7F80_0000;
    private const uint SingleQuietNaN = 0x7FC0_0000;
    private const uint SingleSignallingNaN = 0x7FA0_0000;
    private const uint SingleMaxFinite = 0x7F7F_FFFF;
    private const uint SingleMinNormal = 0x0080_0000;
    private const uint SingleFraction = 0x007F_FFFF;
    private const uint SingleOne = 0x3F80_0000;
    private const ulong DoubleSign = 0x8000_0000_0000_0000;
    private const ulong DoubleInfinity = 0x7FF0_0000_0000_0000;
    private const ulong DoubleQuietNaN = 0x7FF8_0000_0000_0000;
    private const ulong DoubleSignallingNaN = 0x7FF4_0000_0000_0000;
    private const ulong DoubleMaxFinite = 0x7FEF_FFFF_FFFF_FFFF;
    private const ulong DoubleMinNormal = 0x0010_0000_0000_0000;
    private const ulong DoubleFraction = 0x000F_FFFF_FFFF_FFFF;
    private const ulong DoubleOne = 0x3FF0_0000_0000_0000;
    private const int SingleBiasedOne = 127;
    private const int DoubleBiasedOne = 1023;

    /// <summary>One binary32 pattern.</summary>
    public static uint Single(Random random)
    {
        uint sign = random.Next(2) == 0 ? 0 : SingleSign;
        uint fraction = (uint)random.Next() & SingleFraction;
        uint value = random.Next(20) switch
        {
            0 => 0,
            1 => SingleInfinity,
            2 => SingleQuietNaN | (fraction >> 2),
            3 => SingleSignallingNaN | (fraction >> 3) | 1,
            4 => fraction,
            5 => SingleMaxFinite - (uint)random.Next(4),
            6 => SingleMinNormal + (uint)random.Next(4),
            7 => SingleOne,
            8 => BitConverter.SingleToUInt32Bits(random.Next(-100, 100) + 0.5f),
            9 => BitConverter.SingleToUInt32Bits(random.Next(2) == 0 ? 2_147_483_648f : 2_147_483_520f),
            10 => BitConverter.SingleToUInt32Bits(9.223372E+18f),
            11 => BitConverter.SingleToUInt32Bits(random.Next()),
            12 => (uint)random.Next() ^ (uint)(random.Next(2) << 31),
            13 => ((uint)random.Next(1, 24) << 23) | fraction,
            _ => ((uint)(SingleBiasedOne + random.Next(-8, 9)) << 23) | fraction,
        };
        return value | sign;
    }

    /// <summary>One binary64 pattern.</summary>
    public static ulong Double(Random random)
    {
        ulong sign = random.Next(2) == 0 ? 0 : DoubleSign;
        ulong fraction = (ulong)random.NextInt64() & DoubleFraction;
        ulong value = random.Next(20) switch
        {
            0 => 0,
            1 => DoubleInfinity,
            2 => DoubleQuietNaN | (fraction >> 2),
            3 => DoubleSignallingNaN | (fraction >> 3) | 1,
            4 => fraction,
            5 => DoubleMaxFinite - (ulong)random.Next(4),
            6 => DoubleMinNormal + (ulong)random.Next(4),
            7 => DoubleOne,
            8 => BitConverter.DoubleToUInt64Bits(random.Next(-100, 100) + 0.5),
            9 => BitConverter.DoubleToUInt64Bits(random.Next(2) == 0 ? 2_147_483_647.5 : -2_147_483_648.5),
            10 => BitConverter.DoubleToUInt64Bits(random.Next(2) == 0 ? 9.2233720368547758E+18 : 9.2233720368547748E+18),
            11 => BitConverter.DoubleToUInt64Bits(random.NextInt64()),
            12 => (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63),
            13 => ((ulong)random.Next(1, 60) << 52) | fraction,
            14 => ((ulong)random.Next(0x370, 0x390) << 52) | fraction,
            _ => ((ulong)(DoubleBiasedOne + random.Next(-8, 9)) << 52) | fraction,
        };
        return value | sign;
    }

    /// <summary>A 128-bit register value: four binary32 or two binary64 patterns.</summary>
    public static (ulong Low, ulong High) Register(Random random)
    {
        if (random.Next(2) == 0)
        {
            return (Double(random), Double(random));
        }

        return (Single(random) | ((ulong)Single(random) << 32), Single(random) | ((ulong)Single(random) << 32));
    }

    public static bool IsSingleNaN(uint bits) => (bits & ~SingleSign) > SingleInfinity;

    public static bool IsSingleSignallingNaN(uint bits) => IsSingleNaN(bits) && (bits & SingleQuietNaN) != SingleQuietNaN;

    public static bool IsDoubleSignallingNaN(ulong bits) => IsDoubleNaN(bits) && (bits & DoubleQuietNaN) != DoubleQuietNaN;

    public static bool IsDoubleNaN(ulong bits) => (bits & ~DoubleSign) > DoubleInfinity;
}
