using System.Numerics;

namespace ActorVmm.Emulator.Float;

/// <summary>
/// IEEE 754 arithmetic in software, correctly rounded to a <see cref="FloatContext"/>'s format, precision and rounding
/// mode, with the x86 exception flags: the six flags, tininess detected after rounding, masked underflow reported only
/// when inexact, MXCSR.FTZ. Every operation computes the exact result (or the exact result's leading bits and a sticky
/// bit) in 128 bits and rounds once in <see cref="Round"/>; the host's floating-point unit is never used, so results do
/// not depend on the host's MXCSR.
/// </summary>
internal static class SoftFloat
{
    /// <summary>The four outcomes of a comparison.</summary>
    public enum Ordering
    {
        Less,
        Equal,
        Greater,
        Unordered,
    }

    /// <summary>Rounds sign × <paramref name="significand"/> × 2^<paramref name="scale"/> (non-zero) to the context's format.</summary>
    public static FloatValue Round(bool sign, int scale, UInt128 significand, ref FloatContext context)
    {
        var format = context.Format;
        int n = format.SignificandBits;
        int p = context.Precision is > 0 and var precision && precision < n ? precision : n;
        int top = 127 - (int)UInt128.LeadingZeroCount(significand);
        int exponent = scale + top;
        int emin = format.MinExponent;
        // The last kept bit: p bits below the leading one, or for a tiny result p bits below 2^emin (x87 precision control
        // keeps its rounding position in the denormalised significand, as SoftFloat and the x87 do).
        int lsb = Math.Max(exponent, emin) - (p - 1);
        UInt128 rounded = RoundAt(significand, lsb - scale, sign, context.Rounding, out bool inexact);
        context.RoundedUp = inexact && RoundedAway(significand, lsb - scale, rounded);

        // Tiny after rounding: the result rounded to p bits with an unbounded exponent is still below 2^emin.
        bool tiny = exponent < emin
            && !(exponent == emin - 1 && RoundAt(significand, exponent - (p - 1) - scale, sign, context.Rounding, out _) == UInt128.One << p);
        if (tiny && context.FlushToZero && context.UnderflowMasked)
        {
            context.RoundedUp = false;
            context.Flags |= FloatFlags.Underflow | FloatFlags.Inexact;
            return FloatValue.Zero(sign);
        }

        if (tiny && (inexact || !context.UnderflowMasked))
        {
            context.Flags |= FloatFlags.Underflow;
        }

        if (inexact)
        {
            context.Flags |= FloatFlags.Inexact;
        }

        if (rounded == UInt128.Zero)
        {
            return FloatValue.Zero(sign);
        }

        int roundedTop = 127 - (int)UInt128.LeadingZeroCount(rounded);
        int resultExponent = lsb + roundedTop;
        if (resultExponent > format.MaxExponent)
        {
            context.Flags |= FloatFlags.Overflow | FloatFlags.Inexact;
            bool toInfinity = context.Rounding == FloatRounding.NearestEven
                || (context.Rounding == FloatRounding.Up && !sign)
                || (context.Rounding == FloatRounding.Down && sign);
            context.RoundedUp = toInfinity;
            return toInfinity
                ? FloatValue.Infinity(sign)
                : new FloatValue(sign, FloatClass.Normal, format.MaxExponent, ulong.MaxValue << (64 - p));
        }

        ulong normalised = roundedTop >= 63 ? (ulong)(rounded >> (roundedTop - 63)) : (ulong)rounded << (63 - roundedTop);
        return new FloatValue(sign, FloatClass.Normal, resultExponent, normalised);
    }

    /// <summary>Rounds an already finite value to the context (a format conversion, or x87 precision control).</summary>
    public static FloatValue RoundValue(FloatValue value, ref FloatContext context) => value.Class switch
    {
        FloatClass.Normal => Round(value.Sign, value.Exponent - 63, value.Significand, ref context),
        _ => value,
    };

    /// <summary>a + b (or a − b with <paramref name="subtract"/>).</summary>
    public static FloatValue Add(FloatValue a, FloatValue b, bool subtract, ref FloatContext context)
    {
        if (TrySpecialOperands(a, b, ref context, out var special))
        {
            return special;
        }

        bool bSign = b.Sign ^ subtract;
        if (a.Class == FloatClass.Infinity || b.Class == FloatClass.Infinity)
        {
            NoteDenormals(a, b, ref context);
            if (a.Class == FloatClass.Infinity && b.Class == FloatClass.Infinity && a.Sign != bSign)
            {
                return Invalid(ref context);
            }

            return a.Class == FloatClass.Infinity ? a : FloatValue.Infinity(bSign);
        }

        NoteDenormals(a, b, ref context);
        if (a.Class == FloatClass.Zero && b.Class == FloatClass.Zero)
        {
            return FloatValue.Zero(a.Sign == bSign ? a.Sign : context.Rounding == FloatRounding.Down);
        }

        if (a.Class == FloatClass.Zero)
        {
            return RoundValue(b.WithSign(bSign), ref context);
        }

        if (b.Class == FloatClass.Zero)
        {
            return RoundValue(a, ref context);
        }

        // Significands at bit 125, so a sum cannot carry out of 128 bits; 62 bits below the significand keep
        // guard and sticky information for any precision up to 64.
        var (big, bigSign, small, smallSign) = a.Exponent > b.Exponent || (a.Exponent == b.Exponent && a.Significand >= b.Significand)
            ? (a, a.Sign, b, bSign)
            : (b, bSign, a, a.Sign);
        UInt128 large = (UInt128)big.Significand << 62;
        UInt128 little = ShiftRightSticky((UInt128)small.Significand << 62, big.Exponent - small.Exponent);
        int scale = big.Exponent - 125;
        if (bigSign == smallSign)
        {
            return Round(bigSign, scale, large + little, ref context);
        }

        UInt128 difference = large - little;
        return difference == UInt128.Zero
            ? FloatValue.Zero(context.Rounding == FloatRounding.Down)
            : Round(bigSign, scale, difference, ref context);
    }

    public static FloatValue Multiply(FloatValue a, FloatValue b, ref FloatContext context)
    {
        if (TrySpecialOperands(a, b, ref context, out var special))
        {
            return special;
        }

        bool sign = a.Sign ^ b.Sign;
        bool zero = a.Class == FloatClass.Zero || b.Class == FloatClass.Zero;
        if (a.Class == FloatClass.Infinity || b.Class == FloatClass.Infinity)
        {
            if (zero)
            {
                return Invalid(ref context);
            }

            NoteDenormals(a, b, ref context);
            return FloatValue.Infinity(sign);
        }

        NoteDenormals(a, b, ref context);
        return zero ? FloatValue.Zero(sign) : Round(sign, a.Exponent + b.Exponent - 126, (UInt128)a.Significand * b.Significand, ref context);
    }

    public static FloatValue Divide(FloatValue a, FloatValue b, ref FloatContext context)
    {
        if (TrySpecialOperands(a, b, ref context, out var special))
        {
            return special;
        }

        bool sign = a.Sign ^ b.Sign;
        if (a.Class == FloatClass.Infinity)
        {
            if (b.Class == FloatClass.Infinity)
            {
                return Invalid(ref context);
            }

            NoteDenormals(a, b, ref context);
            return FloatValue.Infinity(sign);
        }

        if (b.Class == FloatClass.Infinity)
        {
            NoteDenormals(a, b, ref context);
            return FloatValue.Zero(sign);
        }

        if (b.Class == FloatClass.Zero)
        {
            if (a.Class == FloatClass.Zero)
            {
                return Invalid(ref context);
            }

            NoteDenormals(a, b, ref context);
            context.Flags |= FloatFlags.DivideByZero;
            return FloatValue.Infinity(sign);
        }

        NoteDenormals(a, b, ref context);
        if (a.Class == FloatClass.Zero)
        {
            return FloatValue.Zero(sign);
        }

        // Two long-division steps: 64 + 62 quotient bits (the first step gives 64 or 65), the remainder as sticky.
        UInt128 first = ((UInt128)a.Significand << 64) / b.Significand;
        UInt128 remainder = ((UInt128)a.Significand << 64) % b.Significand;
        UInt128 second = (remainder << 62) / b.Significand;
        UInt128 rest = (remainder << 62) % b.Significand;
        UInt128 quotient = (first << 62) | second | (rest != UInt128.Zero ? UInt128.One : UInt128.Zero);
        return Round(sign, a.Exponent - b.Exponent - 126, quotient, ref context);
    }

    public static FloatValue SquareRoot(FloatValue a, ref FloatContext context)
    {
        if (a.IsNaN)
        {
            return PropagateNaN(a, a, ref context);
        }

        if (a.Class == FloatClass.Unsupported || (a.Sign && a.Class != FloatClass.Zero))
        {
            return Invalid(ref context);
        }

        if (a.Class != FloatClass.Normal)
        {
            return a;
        }

        NoteDenormals(a, a, ref context);

        // value = s × 2^(e − 63); take s × 2^k with e − 63 − k even and about 130 bits, so the root has about 65 + 1 bits.
        int power = a.Exponent - 63;
        int k = (power & 1) == 0 ? 128 : 129;
        var radicand = (BigInteger)a.Significand << k;
        BigInteger root = IntegerSquareRoot(radicand);
        bool exact = root * root == radicand;
        var significand = (UInt128)((root << 1) | (exact ? BigInteger.Zero : BigInteger.One));
        return Round(false, ((power - k) / 2) - 1, significand, ref context);
    }

    /// <summary>Compares a with b; NaNs are unordered and raise IE when signalling, or always with <paramref name="signalling"/>.</summary>
    public static Ordering Compare(FloatValue a, FloatValue b, bool signalling, ref FloatContext context)
    {
        if (a.IsNaN || b.IsNaN || a.Class == FloatClass.Unsupported || b.Class == FloatClass.Unsupported)
        {
            if (signalling || a.Class is FloatClass.SignallingNaN or FloatClass.Unsupported || b.Class is FloatClass.SignallingNaN or FloatClass.Unsupported)
            {
                context.Flags |= FloatFlags.Invalid;
            }

            return Ordering.Unordered;
        }

        NoteDenormals(a, b, ref context);
        int order = Magnitude(a).CompareTo(Magnitude(b));
        if (a.Class == FloatClass.Zero && b.Class == FloatClass.Zero)
        {
            return Ordering.Equal;
        }

        int signed = a.Sign != b.Sign ? (a.Sign ? -1 : 1) : a.Sign ? -order : order;
        return signed < 0 ? Ordering.Less : signed > 0 ? Ordering.Greater : Ordering.Equal;
    }

    /// <summary>A value rounded to an integer in the same format (x87 FRNDINT); PE when it changed.</summary>
    public static FloatValue RoundToIntegral(FloatValue a, FloatRounding rounding, ref FloatContext context)
    {
        if (a.IsNaN)
        {
            return PropagateNaN(a, a, ref context);
        }

        if (a.Class == FloatClass.Unsupported)
        {
            return Invalid(ref context);
        }

        if (a.Class != FloatClass.Normal || a.Exponent >= 63)
        {
            return a;
        }

        NoteDenormals(a, a, ref context);
        UInt128 integer = RoundAt(a.Significand, 63 - a.Exponent, a.Sign, rounding, out bool inexact);
        if (inexact)
        {
            context.Flags |= FloatFlags.Inexact;
        }

        if (integer == UInt128.Zero)
        {
            return FloatValue.Zero(a.Sign);
        }

        int top = 127 - (int)UInt128.LeadingZeroCount(integer);
        return new FloatValue(a.Sign, FloatClass.Normal, top, (ulong)(integer << (63 - top)));
    }

    /// <summary>
    /// Converts to a signed integer of <paramref name="bits"/> bits; NaN, infinity and out-of-range values raise IE and
    /// give null (the caller stores the integer indefinite, the most negative value).
    /// </summary>
    public static long? ToInteger(FloatValue a, int bits, FloatRounding rounding, ref FloatContext context)
    {
        if (a.Class == FloatClass.Zero)
        {
            return 0;
        }

        if (a.Class != FloatClass.Normal || a.Exponent >= 64)
        {
            context.Flags |= FloatFlags.Invalid;
            return null;
        }

        UInt128 magnitude = RoundAt(a.Significand, 63 - a.Exponent, a.Sign, rounding, out bool inexact);
        UInt128 limit = (UInt128.One << (bits - 1)) - (a.Sign ? UInt128.Zero : UInt128.One);
        if (magnitude > limit)
        {
            context.Flags |= FloatFlags.Invalid;
            return null;
        }

        if (inexact)
        {
            context.Flags |= FloatFlags.Inexact;
        }

        return a.Sign ? -(long)(ulong)magnitude : (long)(ulong)magnitude;
    }

    /// <summary>A signed integer rounded to the context's format.</summary>
    public static FloatValue FromInteger(long value, ref FloatContext context) => value == 0
        ? FloatValue.Zero(false)
        : Round(value < 0, 0, value < 0 ? (ulong)-value : (ulong)value, ref context);

    /// <summary>A value converted to the context's format: NaNs keep their payload's top bits and become quiet.</summary>
    public static FloatValue Convert(FloatValue a, ref FloatContext context)
    {
        switch (a.Class)
        {
            case FloatClass.SignallingNaN:
                context.Flags |= FloatFlags.Invalid;
                return a.Quieted();
            case FloatClass.Unsupported:
                return Invalid(ref context);
            case FloatClass.Normal:
                NoteDenormals(a, a, ref context);
                return RoundValue(a, ref context);
            default:
                return a;
        }
    }

    /// <summary>The NaN result of an operation with a NaN operand, by the x87 or the SSE rule; IE for a signalling NaN.</summary>
    public static FloatValue PropagateNaN(FloatValue a, FloatValue b, ref FloatContext context)
    {
        if (a.Class == FloatClass.SignallingNaN || b.Class == FloatClass.SignallingNaN)
        {
            context.Flags |= FloatFlags.Invalid;
        }

        if (!a.IsNaN)
        {
            return b.Quieted();
        }

        if (!b.IsNaN || !context.X87NaNRule)
        {
            return a.Quieted();
        }

        // x87: a QNaN beats an SNaN; otherwise the larger significand, then the positive one.
        if (a.Class != b.Class)
        {
            return (a.Class == FloatClass.QuietNaN ? a : b).Quieted();
        }

        ulong aPayload = a.Significand & ~FloatValue.QuietBit;
        ulong bPayload = b.Significand & ~FloatValue.QuietBit;
        if (aPayload != bPayload)
        {
            return (aPayload > bPayload ? a : b).Quieted();
        }

        return (a.Sign && !b.Sign ? b : a).Quieted();
    }

    /// <summary>IE and the default NaN.</summary>
    public static FloatValue Invalid(ref FloatContext context)
    {
        context.Flags |= FloatFlags.Invalid;
        return FloatValue.DefaultNaN;
    }

    /// <summary>NaN and unsupported operands of a two-operand operation.</summary>
    private static bool TrySpecialOperands(FloatValue a, FloatValue b, ref FloatContext context, out FloatValue result)
    {
        if (a.Class == FloatClass.Unsupported || b.Class == FloatClass.Unsupported)
        {
            result = Invalid(ref context);
            return true;
        }

        if (a.IsNaN || b.IsNaN)
        {
            result = PropagateNaN(a, b, ref context);
            return true;
        }

        result = default;
        return false;
    }

    private static void NoteDenormals(FloatValue a, FloatValue b, ref FloatContext context)
    {
        if (a.WasDenormal || b.WasDenormal)
        {
            context.Flags |= FloatFlags.Denormal;
        }
    }

    /// <summary>Orders finite magnitudes: exponent, then significand.</summary>
    private static (int, ulong) Magnitude(FloatValue value) => value.Class switch
    {
        FloatClass.Zero => (int.MinValue, 0),
        FloatClass.Infinity => (int.MaxValue, 0),
        _ => (value.Exponent, value.Significand),
    };

    /// <summary>
    /// <paramref name="value"/> with its <paramref name="shift"/> low bits rounded away by <paramref name="rounding"/>
    /// (shift ≤ 0 shifts left, exactly).
    /// </summary>
    private static UInt128 RoundAt(UInt128 value, int shift, bool sign, FloatRounding rounding, out bool inexact)
    {
        if (shift <= 0)
        {
            inexact = false;
            return value << -shift;
        }

        UInt128 kept;
        bool aboveHalf;
        bool atHalf;
        if (shift > 128)
        {
            kept = UInt128.Zero;
            aboveHalf = atHalf = false;
        }
        else
        {
            kept = shift == 128 ? UInt128.Zero : value >> shift;
            UInt128 remainder = shift == 128 ? value : value & ((UInt128.One << shift) - 1);
            UInt128 half = UInt128.One << (shift - 1);
            aboveHalf = remainder > half;
            atHalf = remainder == half;
        }

        inexact = shift >= 128 ? value != UInt128.Zero : (value & ((UInt128.One << shift) - 1)) != UInt128.Zero;
        bool increment = rounding switch
        {
            FloatRounding.NearestEven => aboveHalf || (atHalf && (kept & UInt128.One) != UInt128.Zero),
            FloatRounding.Up => inexact && !sign,
            FloatRounding.Down => inexact && sign,
            _ => false,
        };
        return increment ? kept + UInt128.One : kept;
    }

    /// <summary>True when <paramref name="rounded"/> (the value with <paramref name="shift"/> bits rounded away) is above the truncation.</summary>
    private static bool RoundedAway(UInt128 value, int shift, UInt128 rounded) =>
        shift > 0 && (shift >= 128 ? rounded != UInt128.Zero : rounded != value >> shift);

    /// <summary>value shifted right with the bits shifted out ORed into bit 0.</summary>
    private static UInt128 ShiftRightSticky(UInt128 value, int shift)
    {
        if (shift == 0)
        {
            return value;
        }

        if (shift >= 128)
        {
            return value == UInt128.Zero ? UInt128.Zero : UInt128.One;
        }

        bool lost = (value & ((UInt128.One << shift) - 1)) != UInt128.Zero;
        return (value >> shift) | (lost ? UInt128.One : UInt128.Zero);
    }

    /// <summary>floor(√n) by Newton's method from a double estimate.</summary>
    private static BigInteger IntegerSquareRoot(BigInteger n)
    {
        if (n.IsZero)
        {
            return n;
        }

        long bitLength = (long)n.GetBitLength();
        BigInteger x = BigInteger.One << (int)((bitLength / 2) + 1);
        while (true)
        {
            BigInteger y = (x + (n / x)) >> 1;
            if (y >= x)
            {
                return x;
            }

            x = y;
        }
    }
}
