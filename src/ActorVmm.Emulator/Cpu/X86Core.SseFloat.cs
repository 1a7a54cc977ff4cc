using ActorVmm.Emulator.Float;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// SSE/SSE2 floating point: arithmetic, MIN/MAX, SQRT, compares (CMPcc, COMIS/UCOMIS), conversions, shuffles and
/// unpacks, MOVSS/MOVSD, MOVMSKPS/PD, RCP/RSQRT. Computed by <see cref="SoftFloat"/> under MXCSR: rounding control, FTZ
/// and the six exception flags; an unmasked exception leaves the destination unchanged and raises #XM (#UD with
/// CR4.OSXMMEXCPT clear). DAZ is not supported (MXCSR_MASK lacks it), so denormal inputs are used as they are and set DE.
/// </summary>
internal sealed partial class X86Core
{
    /// <summary>MXCSR.FTZ (bit 15): tiny results become zero when underflow is masked.</summary>
    internal const uint MxcsrFlushToZero = 1u << 15;

    /// <summary>MXCSR.UM (bit 11): underflow masked.</summary>
    internal const uint MxcsrUnderflowMask = 1u << 11;

    private const int MxcsrRoundingShift = 13;
    private const int MxcsrMaskShift = 7;

    /// <summary>The integer indefinite a failed 32-bit conversion stores.</summary>
    private const ulong IntegerIndefinite32 = 0x8000_0000;

    /// <summary>The integer indefinite a failed 64-bit conversion stores.</summary>
    private const ulong IntegerIndefinite64 = 0x8000_0000_0000_0000;

    private delegate FloatValue FloatOperation(FloatValue a, FloatValue b, ref FloatContext context);

    private delegate ulong LaneConversion(ulong lane, ref FloatContext context);

    private bool TryExecuteSseFloat(ref Instruction ins)
    {
        var single = FloatFormat.Single;
        var @double = FloatFormat.Double;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Addss: SseFloatBinary(ins, single, packed: false, Add); return true;
            case Mnemonic.Addsd: SseFloatBinary(ins, @double, packed: false, Add); return true;
            case Mnemonic.Addps: SseFloatBinary(ins, single, packed: true, Add); return true;
            case Mnemonic.Addpd: SseFloatBinary(ins, @double, packed: true, Add); return true;
            case Mnemonic.Subss: SseFloatBinary(ins, single, packed: false, Subtract); return true;
            case Mnemonic.Subsd: SseFloatBinary(ins, @double, packed: false, Subtract); return true;
            case Mnemonic.Subps: SseFloatBinary(ins, single, packed: true, Subtract); return true;
            case Mnemonic.Subpd: SseFloatBinary(ins, @double, packed: true, Subtract); return true;
            case Mnemonic.Mulss: SseFloatBinary(ins, single, packed: false, SoftFloat.Multiply); return true;
            case Mnemonic.Mulsd: SseFloatBinary(ins, @double, packed: false, SoftFloat.Multiply); return true;
            case Mnemonic.Mulps: SseFloatBinary(ins, single, packed: true, SoftFloat.Multiply); return true;
            case Mnemonic.Mulpd: SseFloatBinary(ins, @double, packed: true, SoftFloat.Multiply); return true;
            case Mnemonic.Divss: SseFloatBinary(ins, single, packed: false, SoftFloat.Divide); return true;
            case Mnemonic.Divsd: SseFloatBinary(ins, @double, packed: false, SoftFloat.Divide); return true;
            case Mnemonic.Divps: SseFloatBinary(ins, single, packed: true, SoftFloat.Divide); return true;
            case Mnemonic.Divpd: SseFloatBinary(ins, @double, packed: true, SoftFloat.Divide); return true;
            case Mnemonic.Minss: SseFloatBinary(ins, single, packed: false, Minimum); return true;
            case Mnemonic.Minsd: SseFloatBinary(ins, @double, packed: false, Minimum); return true;
            case Mnemonic.Minps: SseFloatBinary(ins, single, packed: true, Minimum); return true;
            case Mnemonic.Minpd: SseFloatBinary(ins, @double, packed: true, Minimum); return true;
            case Mnemonic.Maxss: SseFloatBinary(ins, single, packed: false, Maximum); return true;
            case Mnemonic.Maxsd: SseFloatBinary(ins, @double, packed: false, Maximum); return true;
            case Mnemonic.Maxps: SseFloatBinary(ins, single, packed: true, Maximum); return true;
            case Mnemonic.Maxpd: SseFloatBinary(ins, @double, packed: true, Maximum); return true;
            case Mnemonic.Sqrtss: SseFloatBinary(ins, single, packed: false, SquareRootOfSource); return true;
            case Mnemonic.Sqrtsd: SseFloatBinary(ins, @double, packed: false, SquareRootOfSource); return true;
            case Mnemonic.Sqrtps: SseFloatBinary(ins, single, packed: true, SquareRootOfSource); return true;
            case Mnemonic.Sqrtpd: SseFloatBinary(ins, @double, packed: true, SquareRootOfSource); return true;
            case Mnemonic.Rcpss: SseFloatBinary(ins, single, packed: false, Reciprocal); return true;
            case Mnemonic.Rcpps: SseFloatBinary(ins, single, packed: true, Reciprocal); return true;
            case Mnemonic.Rsqrtss: SseFloatBinary(ins, single, packed: false, ReciprocalSquareRoot); return true;
            case Mnemonic.Rsqrtps: SseFloatBinary(ins, single, packed: true, ReciprocalSquareRoot); return true;

            case Mnemonic.Cmpss: SseCompare(ins, single, packed: false); return true;
            case Mnemonic.Cmpsd: SseCompare(ins, @double, packed: false); return true;
            case Mnemonic.Cmpps: SseCompare(ins, single, packed: true); return true;
            case Mnemonic.Cmppd: SseCompare(ins, @double, packed: true); return true;
            case Mnemonic.Comiss: SseCompareFlags(ins, single, signalling: true); return true;
            case Mnemonic.Comisd: SseCompareFlags(ins, @double, signalling: true); return true;
            case Mnemonic.Ucomiss: SseCompareFlags(ins, single, signalling: false); return true;
            case Mnemonic.Ucomisd: SseCompareFlags(ins, @double, signalling: false); return true;

            case Mnemonic.Cvtsi2ss: ConvertIntegerToScalar(ins, single); return true;
            case Mnemonic.Cvtsi2sd: ConvertIntegerToScalar(ins, @double); return true;
            case Mnemonic.Cvtss2si: ConvertScalarToInteger(ins, single, truncate: false); return true;
            case Mnemonic.Cvttss2si: ConvertScalarToInteger(ins, single, truncate: true); return true;
            case Mnemonic.Cvtsd2si: ConvertScalarToInteger(ins, @double, truncate: false); return true;
            case Mnemonic.Cvttsd2si: ConvertScalarToInteger(ins, @double, truncate: true); return true;
            case Mnemonic.Cvtss2sd: SseConvert(ins, 4, 8, 1, scalar: true, @double, (lane, ref c) => ConvertFloat(lane, single, ref c)); return true;
            case Mnemonic.Cvtsd2ss: SseConvert(ins, 8, 4, 1, scalar: true, single, (lane, ref c) => ConvertFloat(lane, @double, ref c)); return true;
            case Mnemonic.Cvtps2pd: SseConvert(ins, 4, 8, 2, scalar: false, @double, (lane, ref c) => ConvertFloat(lane, single, ref c)); return true;
            case Mnemonic.Cvtpd2ps: SseConvert(ins, 8, 4, 2, scalar: false, single, (lane, ref c) => ConvertFloat(lane, @double, ref c)); return true;
            case Mnemonic.Cvtdq2ps: SseConvert(ins, 4, 4, 4, scalar: false, single, IntegerLaneToFloat); return true;
            case Mnemonic.Cvtdq2pd: SseConvert(ins, 4, 8, 2, scalar: false, @double, IntegerLaneToFloat); return true;
            case Mnemonic.Cvtps2dq: SseConvert(ins, 4, 4, 4, scalar: false, single, (lane, ref c) => FloatLaneToInteger(lane, single, c.Rounding, ref c)); return true;
            case Mnemonic.Cvttps2dq: SseConvert(ins, 4, 4, 4, scalar: false, single, (lane, ref c) => FloatLaneToInteger(lane, single, FloatRounding.TowardZero, ref c)); return true;
            case Mnemonic.Cvtpd2dq: SseConvert(ins, 8, 4, 2, scalar: false, @double, (lane, ref c) => FloatLaneToInteger(lane, @double, c.Rounding, ref c)); return true;
            case Mnemonic.Cvttpd2dq: SseConvert(ins, 8, 4, 2, scalar: false, @double, (lane, ref c) => FloatLaneToInteger(lane, @double, FloatRounding.TowardZero, ref c)); return true;

            case Mnemonic.Shufps:
            {
                CheckSseAvailable();
                int x = XmmIndex(ins.Op0Register);
                var (srcLow, srcHigh) = ReadSseSource(ins);
                ulong low = Xmm[2 * x];
                ulong high = Xmm[(2 * x) + 1];
                uint order = ins.Immediate8;
                ulong Pick(ulong l, ulong h, int slot) => Lane(l, h, (int)(order >> (2 * slot)) & 3, 4);
                SetXmm(x, Pick(low, high, 0) | (Pick(low, high, 1) << 32), Pick(srcLow, srcHigh, 2) | (Pick(srcLow, srcHigh, 3) << 32));
                return true;
            }

            case Mnemonic.Shufpd:
            {
                CheckSseAvailable();
                int x = XmmIndex(ins.Op0Register);
                var (srcLow, srcHigh) = ReadSseSource(ins);
                uint order = ins.Immediate8;
                ulong low = (order & 1) == 0 ? Xmm[2 * x] : Xmm[(2 * x) + 1];
                ulong high = (order & 2) == 0 ? srcLow : srcHigh;
                SetXmm(x, low, high);
                return true;
            }

            case Mnemonic.Unpcklps: Binary128(ins, static (a, b) => Unpack(a, b, 4, high: false)); return true;
            case Mnemonic.Unpckhps: Binary128(ins, static (a, b) => Unpack(a, b, 4, high: true)); return true;
            case Mnemonic.Unpcklpd: Binary128(ins, static (a, b) => Unpack(a, b, 8, high: false)); return true;
            case Mnemonic.Unpckhpd: Binary128(ins, static (a, b) => Unpack(a, b, 8, high: true)); return true;

            case Mnemonic.Movss: MoveScalarFloat(ins, 4); return true;
            case Mnemonic.Movsd: MoveScalarFloat(ins, 8); return true;

            case Mnemonic.Movmskps:
            case Mnemonic.Movmskpd:
            {
                CheckSseAvailable();
                int x = XmmIndex(ins.Op1Register);
                ulong low = Xmm[2 * x];
                ulong high = Xmm[(2 * x) + 1];
                ulong mask = ins.Mnemonic == Mnemonic.Movmskpd
                    ? (low >> 63) | ((high >> 63) << 1)
                    : ((low >> 31) & 1) | ((low >> 63) << 1) | (((high >> 31) & 1) << 2) | ((high >> 63) << 3);
                WriteReg(ins.Op0Register, mask);
                return true;
            }

            default:
                return false;
        }
    }

    private static FloatValue Add(FloatValue a, FloatValue b, ref FloatContext context) => SoftFloat.Add(a, b, subtract: false, ref context);

    private static FloatValue Subtract(FloatValue a, FloatValue b, ref FloatContext context) => SoftFloat.Add(a, b, subtract: true, ref context);

    private static FloatValue SquareRootOfSource(FloatValue a, FloatValue b, ref FloatContext context) => SoftFloat.SquareRoot(b, ref context);

    /// <summary>MINSS/MINPS…: the first operand if it is less, otherwise the second (so a NaN or two zeros give the second); IE for any NaN.</summary>
    private static FloatValue Minimum(FloatValue a, FloatValue b, ref FloatContext context) =>
        SoftFloat.Compare(a, b, signalling: true, ref context) == SoftFloat.Ordering.Less ? a : b;

    private static FloatValue Maximum(FloatValue a, FloatValue b, ref FloatContext context) =>
        SoftFloat.Compare(a, b, signalling: true, ref context) == SoftFloat.Ordering.Greater ? a : b;

    /// <summary>
    /// RCPSS/RCPPS: 1/x correctly rounded (within the architectural 1.5 × 2^-12 bound); denormal inputs count as zero and
    /// tiny results are flushed to zero, as the hardware does; no flags.
    /// </summary>
    private static FloatValue Reciprocal(FloatValue a, FloatValue b, ref FloatContext context)
    {
        var quiet = new FloatContext(context.Format, FloatRounding.NearestEven) { FlushToZero = true };
        return b switch
        {
            { IsNaN: true } => b.Quieted(),
            { WasDenormal: true } or { Class: FloatClass.Zero } => FloatValue.Infinity(b.Sign),
            _ => SoftFloat.Divide(new FloatValue(false, FloatClass.Normal, 0, FloatValue.IntegerBit), b, ref quiet),
        };
    }

    /// <summary>RSQRTSS/RSQRTPS: 1/√x correctly rounded (within the architectural bound); negative inputs give the default NaN; no flags.</summary>
    private static FloatValue ReciprocalSquareRoot(FloatValue a, FloatValue b, ref FloatContext context)
    {
        var quiet = new FloatContext(FloatFormat.Extended, FloatRounding.NearestEven);
        var single = new FloatContext(context.Format, FloatRounding.NearestEven) { FlushToZero = true };
        return b switch
        {
            { IsNaN: true } => b.Quieted(),
            { WasDenormal: true } or { Class: FloatClass.Zero } => FloatValue.Infinity(b.Sign),
            { Sign: true } => FloatValue.DefaultNaN,
            { Class: FloatClass.Infinity } => FloatValue.Zero(false),
            _ => SoftFloat.Divide(new FloatValue(false, FloatClass.Normal, 0, FloatValue.IntegerBit), SoftFloat.SquareRoot(b, ref quiet), ref single),
        };
    }

    private FloatContext SseContext(FloatFormat format) => new(format, (FloatRounding)((Mxcsr >> MxcsrRoundingShift) & 3))
    {
        FlushToZero = (Mxcsr & MxcsrFlushToZero) != 0,
        UnderflowMasked = (Mxcsr & MxcsrUnderflowMask) != 0,
    };

    /// <summary>Records the flags in MXCSR; an unmasked one raises #XM (or #UD without CR4.OSXMMEXCPT) before any register changes.</summary>
    private void RaiseSimdFlags(FloatFlags flags)
    {
        Mxcsr |= (uint)flags;
        uint unmasked = (uint)flags & ~(Mxcsr >> MxcsrMaskShift) & (uint)FloatFlags.All;
        if (unmasked != 0)
        {
            throw new GuestFault((Cr4 & Cr4OSXMMEXCPT) != 0 ? ExceptionVector.XM : ExceptionVector.UD);
        }
    }

    /// <summary>The source operand: a whole XMM register, or the memory operand's size (16 bytes aligned, smaller ones not) zero-extended.</summary>
    private (ulong Low, ulong High) ReadSseSource(in Instruction ins)
    {
        if (ins.Op1Kind == OpKind.Register)
        {
            int y = XmmIndex(ins.Op1Register);
            return (Xmm[2 * y], Xmm[(2 * y) + 1]);
        }

        int size = ins.MemorySize.GetSize();
        if (size == 16)
        {
            return Read128(ins, 1, aligned: true);
        }

        return (ReadLinear(MemoryLinear(ins), size), 0);
    }

    private static ulong Lane(ulong low, ulong high, int index, int size)
    {
        if (size == 8)
        {
            return index == 0 ? low : high;
        }

        ulong word = index < 2 ? low : high;
        return (word >> (32 * (index & 1))) & 0xFFFF_FFFF;
    }

    private static void SetLane(ref ulong low, ref ulong high, int index, int size, ulong value)
    {
        if (size == 8)
        {
            if (index == 0)
            {
                low = value;
            }
            else
            {
                high = value;
            }

            return;
        }

        int shift = 32 * (index & 1);
        ulong mask = 0xFFFF_FFFFUL << shift;
        if (index < 2)
        {
            low = (low & ~mask) | ((value & 0xFFFF_FFFF) << shift);
        }
        else
        {
            high = (high & ~mask) | ((value & 0xFFFF_FFFF) << shift);
        }
    }

    private static int LaneSize(FloatFormat format) => format == FloatFormat.Single ? 4 : 8;

    /// <summary>What a two-operand SSE FP instruction stores in a lane from its two operands' values of that lane.</summary>
    private interface ILaneOperation
    {
        ulong Apply(FloatValue a, FloatValue b, FloatFormat format, ref FloatContext context);
    }

    /// <summary>ADDPS, MULSD, …: the operation's result, rounded into the lane's format.</summary>
    private readonly struct ArithmeticLanes(FloatOperation operation) : ILaneOperation
    {
        public ulong Apply(FloatValue a, FloatValue b, FloatFormat format, ref FloatContext context) =>
            FloatCodec.Pack(operation(a, b, ref context), format);
    }

    /// <summary>CMPccPS/SD/…: all ones when the predicate (imm8[2:0]) holds, else zero.</summary>
    private readonly struct CompareLanes(int predicate) : ILaneOperation
    {
        public ulong Apply(FloatValue a, FloatValue b, FloatFormat format, ref FloatContext context)
        {
            // LT, LE, NLT and NLE signal on any NaN; EQ, UNORD, NEQ and ORD only on a signalling one.
            bool signalling = predicate is 1 or 2 or 5 or 6;
            var order = SoftFloat.Compare(a, b, signalling, ref context);
            bool holds = predicate switch
            {
                0 => order == SoftFloat.Ordering.Equal,
                1 => order == SoftFloat.Ordering.Less,
                2 => order is SoftFloat.Ordering.Less or SoftFloat.Ordering.Equal,
                3 => order == SoftFloat.Ordering.Unordered,
                4 => order != SoftFloat.Ordering.Equal,
                5 => order != SoftFloat.Ordering.Less,
                6 => order is not (SoftFloat.Ordering.Less or SoftFloat.Ordering.Equal),
                _ => order != SoftFloat.Ordering.Unordered,
            };
            return holds ? ulong.MaxValue : 0;
        }
    }

    /// <summary>dst = op(dst, src) per lane: all lanes when packed, the low lane otherwise (the rest kept).</summary>
    private void SseFloatBinary(in Instruction ins, FloatFormat format, bool packed, FloatOperation operation) =>
        SseLanes(ins, format, packed, new ArithmeticLanes(operation));

    /// <summary>CMPccSS/SD/PS/PD: each lane all ones when the predicate (imm8[2:0]) holds, else zero.</summary>
    private void SseCompare(in Instruction ins, FloatFormat format, bool packed) =>
        SseLanes(ins, format, packed, new CompareLanes(ins.Immediate8 & 7));

    /// <summary>The lane walk of both: a struct operation, so each is its own specialisation without a closure per instruction.</summary>
    private void SseLanes<TOperation>(in Instruction ins, FloatFormat format, bool packed, TOperation operation)
        where TOperation : struct, ILaneOperation
    {
        CheckSseAvailable();
        int x = XmmIndex(ins.Op0Register);
        var (srcLow, srcHigh) = ReadSseSource(ins);
        ulong low = Xmm[2 * x];
        ulong high = Xmm[(2 * x) + 1];
        var context = SseContext(format);
        int size = LaneSize(format);
        int lanes = packed ? 16 / size : 1;
        for (int i = 0; i < lanes; i++)
        {
            var a = FloatCodec.Unpack(Lane(low, high, i, size), format);
            var b = FloatCodec.Unpack(Lane(srcLow, srcHigh, i, size), format);
            SetLane(ref low, ref high, i, size, operation.Apply(a, b, format, ref context));
        }

        RaiseSimdFlags(context.Flags);
        SetXmm(x, low, high);
    }

    /// <summary>COMISS/COMISD/UCOMISS/UCOMISD: ZF, PF, CF = 111 unordered, 000 greater, 001 less, 100 equal; OF, SF, AF cleared.</summary>
    private void SseCompareFlags(in Instruction ins, FloatFormat format, bool signalling)
    {
        CheckSseAvailable();
        int x = XmmIndex(ins.Op0Register);
        var (srcLow, _) = ReadSseSource(ins);
        var context = SseContext(format);
        var order = SoftFloat.Compare(FloatCodec.Unpack(Lane(Xmm[2 * x], 0, 0, LaneSize(format)), format), FloatCodec.Unpack(Lane(srcLow, 0, 0, LaneSize(format)), format), signalling, ref context);
        RaiseSimdFlags(context.Flags);
        Flags = (Flags & ~RFlags.Status) | CompareFlags(order);
    }

    /// <summary>The ZF/PF/CF pattern COMISS and FCOMI share.</summary>
    private static ulong CompareFlags(SoftFloat.Ordering order) => order switch
    {
        SoftFloat.Ordering.Unordered => RFlags.ZF | RFlags.PF | RFlags.CF,
        SoftFloat.Ordering.Less => RFlags.CF,
        SoftFloat.Ordering.Equal => RFlags.ZF,
        _ => 0,
    };

    /// <summary>MOVSS/MOVSD: register to register moves the low lane only; a load zeroes the rest; a store writes the lane.</summary>
    private void MoveScalarFloat(in Instruction ins, int size)
    {
        CheckSseAvailable();
        ulong laneMask = size == 8 ? ulong.MaxValue : 0xFFFF_FFFF;
        if (ins.Op0Kind == OpKind.Register && ins.Op1Kind == OpKind.Register)
        {
            int x = XmmIndex(ins.Op0Register);
            ulong value = Xmm[2 * XmmIndex(ins.Op1Register)] & laneMask;
            Xmm[2 * x] = (Xmm[2 * x] & ~laneMask) | value;
            return;
        }

        if (ins.Op0Kind == OpKind.Register)
        {
            SetXmm(XmmIndex(ins.Op0Register), ReadLinear(MemoryLinear(ins), size), 0);
            return;
        }

        WriteLinear(MemoryLinear(ins), size, Xmm[2 * XmmIndex(ins.Op1Register)] & laneMask);
    }

    /// <summary>Converts <paramref name="count"/> lanes; a scalar conversion keeps the destination's other lanes, a packed one zeroes them.</summary>
    private void SseConvert(in Instruction ins, int inSize, int outSize, int count, bool scalar, FloatFormat outFormat, LaneConversion conversion)
    {
        CheckSseAvailable();
        int x = XmmIndex(ins.Op0Register);
        var (srcLow, srcHigh) = ReadSseSource(ins);
        ulong low = scalar ? Xmm[2 * x] : 0;
        ulong high = scalar ? Xmm[(2 * x) + 1] : 0;
        var context = SseContext(outFormat);
        for (int i = 0; i < count; i++)
        {
            SetLane(ref low, ref high, i, outSize, conversion(Lane(srcLow, srcHigh, i, inSize), ref context));
        }

        RaiseSimdFlags(context.Flags);
        SetXmm(x, low, high);
    }

    private static ulong ConvertFloat(ulong lane, FloatFormat from, ref FloatContext context) =>
        FloatCodec.Pack(SoftFloat.Convert(FloatCodec.Unpack(lane, from), ref context), context.Format);

    private static ulong IntegerLaneToFloat(ulong lane, ref FloatContext context) =>
        FloatCodec.Pack(SoftFloat.FromInteger((int)(uint)lane, ref context), context.Format);

    private static ulong FloatLaneToInteger(ulong lane, FloatFormat from, FloatRounding rounding, ref FloatContext context) =>
        SoftFloat.ToInteger(FloatCodec.Unpack(lane, from), 32, rounding, ref context) is { } value ? (uint)(int)value : IntegerIndefinite32;

    /// <summary>CVTSI2SS/CVTSI2SD from a 32- or 64-bit GPR or memory integer; the rest of the destination is kept.</summary>
    private void ConvertIntegerToScalar(in Instruction ins, FloatFormat format)
    {
        CheckSseAvailable();
        int x = XmmIndex(ins.Op0Register);
        int size = ins.Op1Kind == OpKind.Register ? RegisterTable.Size[(int)ins.Op1Register] : ins.MemorySize.GetSize();
        ulong raw = ins.Op1Kind == OpKind.Register ? ReadReg(ins.Op1Register) : ReadLinear(MemoryLinear(ins), size);
        var context = SseContext(format);
        ulong result = FloatCodec.Pack(SoftFloat.FromInteger(SignExtend(raw, size), ref context), format);
        RaiseSimdFlags(context.Flags);
        ulong low = Xmm[2 * x];
        ulong high = Xmm[(2 * x) + 1];
        SetLane(ref low, ref high, 0, LaneSize(format), result);
        SetXmm(x, low, high);
    }

    /// <summary>CVT(T)SS2SI/CVT(T)SD2SI to a 32- or 64-bit GPR; NaN and out-of-range values give the integer indefinite.</summary>
    private void ConvertScalarToInteger(in Instruction ins, FloatFormat format, bool truncate)
    {
        CheckSseAvailable();
        int bits = RegisterTable.Size[(int)ins.Op0Register] * 8;
        var (srcLow, _) = ReadSseSource(ins);
        var context = SseContext(format);
        var rounding = truncate ? FloatRounding.TowardZero : context.Rounding;
        long? value = SoftFloat.ToInteger(FloatCodec.Unpack(Lane(srcLow, 0, 0, LaneSize(format)), format), bits, rounding, ref context);
        RaiseSimdFlags(context.Flags);
        ulong indefinite = bits == 64 ? IntegerIndefinite64 : IntegerIndefinite32;
        WriteReg(ins.Op0Register, value is { } v ? (ulong)v & SizeMask[bits / 8] : indefinite);
    }
}
