using System.Numerics;

namespace ActorVmm.Emulator.Float;

/// <summary>Between the stored encodings (binary32, binary64, 80-bit extended) and <see cref="FloatValue"/>.</summary>
internal static class FloatCodec
{
    /// <summary>Unpacks a binary32 or binary64 encoding held in the low bits of <paramref name="bits"/>.</summary>
    public static FloatValue Unpack(ulong bits, FloatFormat format)
    {
        int fractionBits = format.FractionBits;
        bool sign = ((bits >> (fractionBits + format.ExponentBits)) & 1) != 0;
        int biased = (int)((bits >> fractionBits) & (ulong)format.MaxBiasedExponent);
        ulong fraction = bits & ((1UL << fractionBits) - 1);
        ulong aligned = fraction << (63 - fractionBits);
        if (biased == format.MaxBiasedExponent)
        {
            if (fraction == 0)
            {
                return FloatValue.Infinity(sign);
            }

            var nanClass = (aligned & FloatValue.QuietBit) != 0 ? FloatClass.QuietNaN : FloatClass.SignallingNaN;
            return new FloatValue(sign, nanClass, 0, FloatValue.IntegerBit | aligned);
        }

        if (biased == 0)
        {
            if (fraction == 0)
            {
                return FloatValue.Zero(sign);
            }

            int shift = BitOperations.LeadingZeroCount(aligned);
            return new FloatValue(sign, FloatClass.Normal, format.MinExponent - shift, aligned << shift, WasDenormal: true);
        }

        return new FloatValue(sign, FloatClass.Normal, biased - format.Bias, FloatValue.IntegerBit | aligned);
    }

    /// <summary>Unpacks an 80-bit extended value (sign and exponent word, 64-bit significand with explicit integer bit).</summary>
    public static FloatValue UnpackExtended(ushort signExponent, ulong significand)
    {
        var format = FloatFormat.Extended;
        bool sign = (signExponent & 0x8000) != 0;
        int biased = signExponent & 0x7FFF;
        bool integer = (significand & FloatValue.IntegerBit) != 0;
        if (biased == format.MaxBiasedExponent)
        {
            if (!integer)
            {
                return new FloatValue(sign, FloatClass.Unsupported, 0, significand);
            }

            if ((significand & ~FloatValue.IntegerBit) == 0)
            {
                return FloatValue.Infinity(sign);
            }

            var nanClass = (significand & FloatValue.QuietBit) != 0 ? FloatClass.QuietNaN : FloatClass.SignallingNaN;
            return new FloatValue(sign, nanClass, 0, significand);
        }

        if (biased == 0)
        {
            if (significand == 0)
            {
                return FloatValue.Zero(sign);
            }

            // Denormals and pseudo-denormals (integer bit set) both mean 0.f × 2^emin.
            int shift = BitOperations.LeadingZeroCount(significand);
            return new FloatValue(sign, FloatClass.Normal, format.MinExponent - shift, significand << shift, WasDenormal: true);
        }

        return integer
            ? new FloatValue(sign, FloatClass.Normal, biased - format.Bias, significand)
            : new FloatValue(sign, FloatClass.Unsupported, biased - format.Bias, significand);
    }

    /// <summary>
    /// Encodes a value that is representable in <paramref name="format"/> (as <see cref="SoftFloat.Round"/> leaves it)
    /// as binary32 or binary64 in the low bits of the result. NaN payloads keep their top bits.
    /// </summary>
    public static ulong Pack(FloatValue value, FloatFormat format)
    {
        int fractionBits = format.FractionBits;
        ulong fractionMask = (1UL << fractionBits) - 1;
        ulong sign = value.Sign ? 1UL << (fractionBits + format.ExponentBits) : 0;
        ulong maxExponent = (ulong)format.MaxBiasedExponent << fractionBits;
        switch (value.Class)
        {
            case FloatClass.Zero:
                return sign;
            case FloatClass.Infinity:
                return sign | maxExponent;
            case FloatClass.QuietNaN:
            case FloatClass.SignallingNaN:
            case FloatClass.Unsupported:
            {
                ulong payload = (value.Significand >> (63 - fractionBits)) & fractionMask;
                if (value.Class == FloatClass.SignallingNaN && payload == 0)
                {
                    payload = 1;
                }

                return sign | maxExponent | (value.Class == FloatClass.Unsupported ? (fractionMask + 1) >> 1 : payload);
            }

            default:
                if (value.Exponent < format.MinExponent)
                {
                    int shift = format.MinExponent - value.Exponent + (63 - fractionBits);
                    return sign | (shift >= 64 ? 0 : value.Significand >> shift);
                }

                return sign | ((ulong)(value.Exponent + format.Bias) << fractionBits) | ((value.Significand >> (63 - fractionBits)) & fractionMask);
        }
    }

    /// <summary>Encodes a value as 80-bit extended: (sign and exponent word, significand).</summary>
    public static (ushort SignExponent, ulong Significand) PackExtended(FloatValue value)
    {
        var format = FloatFormat.Extended;
        ushort sign = value.Sign ? (ushort)0x8000 : (ushort)0;
        ushort maxExponent = (ushort)format.MaxBiasedExponent;
        return value.Class switch
        {
            FloatClass.Zero => (sign, 0),
            FloatClass.Infinity => ((ushort)(sign | maxExponent), FloatValue.IntegerBit),
            FloatClass.QuietNaN or FloatClass.SignallingNaN => ((ushort)(sign | maxExponent), value.Significand | FloatValue.IntegerBit),
            FloatClass.Unsupported => ((ushort)(sign | maxExponent), FloatValue.IntegerBit | FloatValue.QuietBit),
            _ when value.Exponent < format.MinExponent => (sign, format.MinExponent - value.Exponent >= 64 ? 0 : value.Significand >> (format.MinExponent - value.Exponent)),
            _ => ((ushort)(sign | (value.Exponent + format.Bias)), value.Significand),
        };
    }
}
