namespace ActorVmm.Emulator.Float;

/// <summary>IEEE 754 exception flags, in the bit positions MXCSR[5:0] and the x87 FSW[5:0] share.</summary>
[Flags]
internal enum FloatFlags : uint
{
    None = 0,

    /// <summary>IE: invalid operation (signalling NaN operand, inf − inf, 0 × inf, 0/0, √−x, unrepresentable integer).</summary>
    Invalid = 1 << 0,

    /// <summary>DE: an operand was denormal.</summary>
    Denormal = 1 << 1,

    /// <summary>ZE: a finite non-zero value divided by zero.</summary>
    DivideByZero = 1 << 2,

    /// <summary>OE: the rounded result's exponent is too large for the format.</summary>
    Overflow = 1 << 3,

    /// <summary>UE: the result is tiny (after rounding, as x86 detects it) and, when masked, also inexact.</summary>
    Underflow = 1 << 4,

    /// <summary>PE: the result had to be rounded.</summary>
    Inexact = 1 << 5,

    /// <summary>All six.</summary>
    All = Invalid | Denormal | DivideByZero | Overflow | Underflow | Inexact,
}

/// <summary>Rounding control as MXCSR[14:13] and FCW[11:10] encode it.</summary>
internal enum FloatRounding
{
    NearestEven = 0,
    Down = 1,
    Up = 2,
    TowardZero = 3,
}

/// <summary>What an unpacked value is.</summary>
internal enum FloatClass : byte
{
    Zero,
    Normal,
    Infinity,
    QuietNaN,
    SignallingNaN,

    /// <summary>An 80-bit encoding the 387 and later reject (unnormal, pseudo-NaN, pseudo-infinity): an invalid operand.</summary>
    Unsupported,
}

/// <summary>A binary floating-point format: exponent width and significand precision (integer bit included).</summary>
internal readonly record struct FloatFormat(int ExponentBits, int SignificandBits, bool ExplicitInteger)
{
    /// <summary>binary32 (SS/PS, x87 m32fp).</summary>
    public static readonly FloatFormat Single = new(8, 24, ExplicitInteger: false);

    /// <summary>binary64 (SD/PD, x87 m64fp).</summary>
    public static readonly FloatFormat Double = new(11, 53, ExplicitInteger: false);

    /// <summary>x87 double-extended (m80fp and the register stack): explicit integer bit.</summary>
    public static readonly FloatFormat Extended = new(15, 64, ExplicitInteger: true);

    public int Bias => (1 << (ExponentBits - 1)) - 1;

    public int MaxBiasedExponent => (1 << ExponentBits) - 1;

    /// <summary>Unbiased exponent of the smallest normal number.</summary>
    public int MinExponent => 1 - Bias;

    /// <summary>Unbiased exponent of the largest finite number.</summary>
    public int MaxExponent => Bias;

    /// <summary>Stored fraction bits (the integer bit excluded).</summary>
    public int FractionBits => SignificandBits - 1;
}

/// <summary>
/// An unpacked floating-point value. For <see cref="FloatClass.Normal"/> (denormal encodings included, normalised)
/// the value is <see cref="Significand"/> × 2^(<see cref="Exponent"/> − 63) with bit 63 of the significand set.
/// For NaNs the significand holds bit 63 set and the payload below it, left-aligned (bit 62 is the quiet bit).
/// </summary>
internal readonly record struct FloatValue(bool Sign, FloatClass Class, int Exponent, ulong Significand, bool WasDenormal = false)
{
    /// <summary>The quiet bit of a NaN significand.</summary>
    public const ulong QuietBit = 1UL << 62;

    /// <summary>The integer bit of a normalised significand.</summary>
    public const ulong IntegerBit = 1UL << 63;

    public bool IsNaN => Class is FloatClass.QuietNaN or FloatClass.SignallingNaN;

    public static FloatValue Zero(bool sign) => new(sign, FloatClass.Zero, 0, 0);

    public static FloatValue Infinity(bool sign) => new(sign, FloatClass.Infinity, 0, IntegerBit);

    /// <summary>The default ("indefinite") QNaN: negative, quiet bit only.</summary>
    public static FloatValue DefaultNaN => new(true, FloatClass.QuietNaN, 0, IntegerBit | QuietBit);

    /// <summary>This NaN with its quiet bit set.</summary>
    public FloatValue Quieted() => this with { Class = FloatClass.QuietNaN, Significand = Significand | IntegerBit | QuietBit };

    public FloatValue Negated() => this with { Sign = !Sign };

    public FloatValue WithSign(bool sign) => this with { Sign = sign };
}

/// <summary>How a result is rounded and which exceptions it records: one per instruction, flags accumulated.</summary>
internal struct FloatContext
{
    /// <summary>The destination format.</summary>
    public FloatFormat Format;

    /// <summary>Significand bits kept (x87 precision control: 24, 53 or 64); 0 means the format's own.</summary>
    public int Precision;

    public FloatRounding Rounding;

    /// <summary>MXCSR.FTZ: a tiny result becomes a signed zero (UE and PE set) when underflow is masked.</summary>
    public bool FlushToZero;

    /// <summary>Masked underflow reports UE only when the tiny result is also inexact; unmasked, whenever it is tiny.</summary>
    public bool UnderflowMasked;

    /// <summary>x87 picks the NaN with the larger significand when both operands are NaNs; SSE picks the first operand.</summary>
    public bool X87NaNRule;

    /// <summary>Exceptions detected so far.</summary>
    public FloatFlags Flags;

    /// <summary>The last rounding increased the magnitude (the x87 reports it in C1).</summary>
    public bool RoundedUp;

    public FloatContext(FloatFormat format, FloatRounding rounding)
    {
        Format = format;
        Rounding = rounding;
        UnderflowMasked = true;
    }
}
