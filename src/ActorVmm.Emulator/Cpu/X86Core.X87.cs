using ActorVmm.Emulator.Float;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// x87 arithmetic in 80-bit extended precision on <see cref="SoftFloat"/>: loads and stores of every format, the
/// constants, the four operations in all their forms, FSQRT, FRNDINT, FSCALE, FXTRACT, FPREM/FPREM1, compares (FCOM*, FUCOM*,
/// FCOMI*, FTST, FXAM), FCMOVcc, FXCH, FFREE, FINCSTP/FDECSTP and FNSTENV/FLDENV/FNSAVE/FRSTOR. FCW's rounding and precision
/// control are honoured (precision control only for FADD/FSUB/FMUL/FDIV/FSQRT, as on hardware); stack overflow and
/// underflow set IE, SF and C1 and, masked, produce the indefinite NaN; an unmasked exception sets ES and B and is reported
/// as #MF (CR0.NE set) at the next waiting x87 instruction. Not implemented: the transcendental instructions (FSIN, FCOS,
/// FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1), which stop the emulator naming them, and the biased results the x87
/// delivers for unmasked overflow and underflow (the masked result is written instead).
/// </summary>
internal sealed partial class X86Core
{
    internal const ulong Cr0NE = 1UL << 5;

    /// <summary>FSW bit 6: stack fault (with IE: overflow when C1 is set, underflow when clear).</summary>
    internal const ushort FswStackFault = 1 << 6;

    /// <summary>FSW bit 7: error summary, an unmasked exception is pending.</summary>
    internal const ushort FswErrorSummary = 1 << 7;

    internal const ushort FswC0 = 1 << 8;
    internal const ushort FswC1 = 1 << 9;
    internal const ushort FswC2 = 1 << 10;
    internal const ushort FswC3 = 1 << 14;

    /// <summary>FSW bit 15: busy, a copy of ES.</summary>
    internal const ushort FswBusy = 1 << 15;

    /// <summary>FSW bits 13:11: TOP, the physical register that is ST(0).</summary>
    internal const int FswTopShift = 11;
    internal const ushort FswTopMask = 7 << FswTopShift;

    private const ushort FswConditionCodes = FswC0 | FswC1 | FswC2 | FswC3;

    /// <summary>FCW bits 9:8: precision control (0 single, 2 double, 3 extended).</summary>
    private const int FcwPrecisionShift = 8;

    /// <summary>FCW bits 11:10: rounding control.</summary>
    private const int FcwRoundingShift = 10;

    /// <summary>FCW bit 4: underflow masked.</summary>
    private const ushort FcwUnderflowMask = 1 << 4;

    /// <summary>The pre-computation exceptions that, unmasked, leave the destination unchanged.</summary>
    private const FloatFlags X87Suppressing = FloatFlags.Invalid | FloatFlags.Denormal | FloatFlags.DivideByZero;

    // Full tag word values (FNSTENV/FNSAVE), two bits per physical register.
    private const int TagValid = 0;
    private const int TagZero = 1;
    private const int TagSpecial = 2;
    private const int TagEmpty = 3;

    // The x87 constants to 128 bits (truncated; every one is irrational, so inexact), value = significand × 2^(exponent − 127).
    private static readonly UInt128 Pi = new(0xC90F_DAA2_2168_C234, 0xC4C6_628B_80DC_1CD1);
    private static readonly UInt128 Log2E = new(0xB8AA_3B29_5C17_F0BB, 0xBE87_FED0_691D_3E88);
    private static readonly UInt128 Log2Ten = new(0xD49A_784B_CD1B_8AFE, 0x492B_F6FF_4DAF_DB4C);
    private static readonly UInt128 Log10Two = new(0x9A20_9A84_FBCF_F798, 0x8F89_59AC_0B7C_9178);
    private static readonly UInt128 LnTwo = new(0xB172_17F7_D1CF_79AB, 0xC9E3_B398_03F2_F6AF);

    private int X87Top => (Fsw & FswTopMask) >> FswTopShift;

    /// <summary>Physical register R<paramref name="physical"/> as stored (sign and exponent word, significand); for tests and diagnostics.</summary>
    internal (ushort SignExponent, ulong Significand) X87Register(int physical) => (_x87Exponent[physical], _x87Significand[physical]);

    private bool TryExecuteX87(ref Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Fld: BeginX87(ins); X87Load(ins); return true;
            case Mnemonic.Fst: BeginX87(ins); X87Store(ins, pop: false); return true;
            case Mnemonic.Fstp: BeginX87(ins); X87Store(ins, pop: true); return true;
            case Mnemonic.Fild: BeginX87(ins); X87LoadInteger(ins); return true;
            case Mnemonic.Fist: BeginX87(ins); X87StoreInteger(ins, pop: false, truncate: false); return true;
            case Mnemonic.Fistp: BeginX87(ins); X87StoreInteger(ins, pop: true, truncate: false); return true;
            case Mnemonic.Fisttp: BeginX87(ins); X87StoreInteger(ins, pop: true, truncate: true); return true;

            case Mnemonic.Fld1: BeginX87(ins); X87LoadConstant(UInt128.One << 127, 0); return true;
            case Mnemonic.Fldz: BeginX87(ins); X87Push(FloatValue.Zero(false)); return true;
            case Mnemonic.Fldpi: BeginX87(ins); X87LoadConstant(Pi, 1); return true;
            case Mnemonic.Fldl2e: BeginX87(ins); X87LoadConstant(Log2E, 0); return true;
            case Mnemonic.Fldl2t: BeginX87(ins); X87LoadConstant(Log2Ten, 1); return true;
            case Mnemonic.Fldlg2: BeginX87(ins); X87LoadConstant(Log10Two, -2); return true;
            case Mnemonic.Fldln2: BeginX87(ins); X87LoadConstant(LnTwo, -1); return true;

            case Mnemonic.Fadd or Mnemonic.Faddp or Mnemonic.Fiadd:
                BeginX87(ins); X87Arithmetic(ins, static (a, b, ref c) => SoftFloat.Add(a, b, subtract: false, ref c), reverse: false); return true;
            case Mnemonic.Fsub or Mnemonic.Fsubp or Mnemonic.Fisub:
                BeginX87(ins); X87Arithmetic(ins, static (a, b, ref c) => SoftFloat.Add(a, b, subtract: true, ref c), reverse: false); return true;
            case Mnemonic.Fsubr or Mnemonic.Fsubrp or Mnemonic.Fisubr:
                BeginX87(ins); X87Arithmetic(ins, static (a, b, ref c) => SoftFloat.Add(a, b, subtract: true, ref c), reverse: true); return true;
            case Mnemonic.Fmul or Mnemonic.Fmulp or Mnemonic.Fimul:
                BeginX87(ins); X87Arithmetic(ins, SoftFloat.Multiply, reverse: false); return true;
            case Mnemonic.Fdiv or Mnemonic.Fdivp or Mnemonic.Fidiv:
                BeginX87(ins); X87Arithmetic(ins, SoftFloat.Divide, reverse: false); return true;
            case Mnemonic.Fdivr or Mnemonic.Fdivrp or Mnemonic.Fidivr:
                BeginX87(ins); X87Arithmetic(ins, SoftFloat.Divide, reverse: true); return true;

            case Mnemonic.Fchs:
            case Mnemonic.Fabs:
            {
                BeginX87(ins);
                if (X87Underflow(0, 0))
                {
                    return true;
                }

                // Sign operations touch only the sign bit, whatever the encoding.
                var (signExponent, significand) = X87ReadRaw(0);
                X87WriteRaw(0, ((ushort)(ins.Mnemonic == Mnemonic.Fchs ? signExponent ^ 0x8000 : signExponent & 0x7FFF), significand));
                Fsw &= unchecked((ushort)~FswC1);
                return true;
            }

            case Mnemonic.Fsqrt:
                BeginX87(ins);
                X87Unary(static (a, ref c) => SoftFloat.SquareRoot(a, ref c), precisionControl: true);
                return true;
            case Mnemonic.Frndint:
                BeginX87(ins);
                X87Unary(static (a, ref c) => SoftFloat.RoundToIntegral(a, c.Rounding, ref c), precisionControl: false);
                return true;
            case Mnemonic.Fscale: BeginX87(ins); X87Scale(); return true;
            case Mnemonic.Fxtract: BeginX87(ins); X87Extract(); return true;
            case Mnemonic.Fprem: BeginX87(ins); X87PartialRemainder(nearest: false); return true;
            case Mnemonic.Fprem1: BeginX87(ins); X87PartialRemainder(nearest: true); return true;

            case Mnemonic.Fxch:
            {
                BeginX87(ins);
                int i = StIndex(ins.Op0Kind == OpKind.Register && ins.Op0Register != Register.ST0 ? ins.Op0Register : ins.Op1Register);
                if (X87IsEmpty(0) || X87IsEmpty(i))
                {
                    if (!X87StackFault(overflow: false))
                    {
                        return true;
                    }

                    // Masked: each empty register becomes the indefinite NaN, then the exchange happens.
                    for (int k = 0; k < 2; k++)
                    {
                        int register = k == 0 ? 0 : i;
                        if (X87IsEmpty(register))
                        {
                            X87Write(register, FloatValue.DefaultNaN);
                        }
                    }
                }

                var top = X87ReadRaw(0);
                X87WriteRaw(0, X87ReadRaw(i));
                X87WriteRaw(i, top);
                Fsw &= unchecked((ushort)~FswC1);
                return true;
            }

            case Mnemonic.Fcom: BeginX87(ins); X87Compare(ins, signalling: true, pops: 0); return true;
            case Mnemonic.Fcomp: BeginX87(ins); X87Compare(ins, signalling: true, pops: 1); return true;
            case Mnemonic.Fcompp: BeginX87(ins); X87Compare(ins, signalling: true, pops: 2); return true;
            case Mnemonic.Fucom: BeginX87(ins); X87Compare(ins, signalling: false, pops: 0); return true;
            case Mnemonic.Fucomp: BeginX87(ins); X87Compare(ins, signalling: false, pops: 1); return true;
            case Mnemonic.Fucompp: BeginX87(ins); X87Compare(ins, signalling: false, pops: 2); return true;
            case Mnemonic.Ficom: BeginX87(ins); X87Compare(ins, signalling: true, pops: 0); return true;
            case Mnemonic.Ficomp: BeginX87(ins); X87Compare(ins, signalling: true, pops: 1); return true;
            case Mnemonic.Ftst: BeginX87(ins); X87Compare(ins, signalling: true, pops: 0); return true;
            case Mnemonic.Fcomi: BeginX87(ins); X87CompareFlags(ins, signalling: true, pop: false); return true;
            case Mnemonic.Fcomip: BeginX87(ins); X87CompareFlags(ins, signalling: true, pop: true); return true;
            case Mnemonic.Fucomi: BeginX87(ins); X87CompareFlags(ins, signalling: false, pop: false); return true;
            case Mnemonic.Fucomip: BeginX87(ins); X87CompareFlags(ins, signalling: false, pop: true); return true;
            case Mnemonic.Fxam: BeginX87(ins); X87Examine(); return true;

            case Mnemonic.Fcmovb: BeginX87(ins); X87ConditionalMove(ins, (Flags & RFlags.CF) != 0); return true;
            case Mnemonic.Fcmove: BeginX87(ins); X87ConditionalMove(ins, (Flags & RFlags.ZF) != 0); return true;
            case Mnemonic.Fcmovbe: BeginX87(ins); X87ConditionalMove(ins, (Flags & (RFlags.CF | RFlags.ZF)) != 0); return true;
            case Mnemonic.Fcmovu: BeginX87(ins); X87ConditionalMove(ins, (Flags & RFlags.PF) != 0); return true;
            case Mnemonic.Fcmovnb: BeginX87(ins); X87ConditionalMove(ins, (Flags & RFlags.CF) == 0); return true;
            case Mnemonic.Fcmovne: BeginX87(ins); X87ConditionalMove(ins, (Flags & RFlags.ZF) == 0); return true;
            case Mnemonic.Fcmovnbe: BeginX87(ins); X87ConditionalMove(ins, (Flags & (RFlags.CF | RFlags.ZF)) == 0); return true;
            case Mnemonic.Fcmovnu: BeginX87(ins); X87ConditionalMove(ins, (Flags & RFlags.PF) == 0); return true;

            case Mnemonic.Ffree:
            case Mnemonic.Ffreep:
                BeginX87(ins);
                Ftw &= (byte)~(1 << PhysicalRegister(StIndex(ins.Op0Register)));
                if (ins.Mnemonic == Mnemonic.Ffreep)
                {
                    X87Pop();
                }

                return true;
            case Mnemonic.Fincstp:
            case Mnemonic.Fdecstp:
                BeginX87(ins);
                SetX87Top(X87Top + (ins.Mnemonic == Mnemonic.Fincstp ? 1 : -1));
                Fsw &= unchecked((ushort)~FswC1);
                return true;
            case Mnemonic.Fnop:
                BeginX87(ins);
                return true;

            case Mnemonic.Fnstenv:
                CheckX87Available();
                StoreX87Environment(MemoryLinear(ins), ins.MemorySize == MemorySize.FpuEnv14 ? 2 : 4);
                Fcw |= (ushort)FloatFlags.All;
                return true;
            case Mnemonic.Fldenv:
                CheckX87Available();
                LoadX87Environment(MemoryLinear(ins), ins.MemorySize == MemorySize.FpuEnv14 ? 2 : 4);
                return true;
            case Mnemonic.Fnsave:
            {
                CheckX87Available();
                int size = ins.MemorySize == MemorySize.FpuState94 ? 2 : 4;
                ulong linear = MemoryLinear(ins);
                ulong registers = linear + (ulong)EnvironmentSize(size);
                _ = Translate(registers + 79, AccessKind.Write);
                StoreX87Environment(linear, size);
                for (int i = 0; i < 8; i++)
                {
                    int physical = PhysicalRegister(i);
                    WriteLinear(registers + (ulong)(10 * i), 8, _x87Significand[physical]);
                    WriteLinear(registers + (ulong)(10 * i) + 8, 2, _x87Exponent[physical]);
                }

                InitializeX87();
                return true;
            }

            case Mnemonic.Frstor:
            {
                CheckX87Available();
                int size = ins.MemorySize == MemorySize.FpuState94 ? 2 : 4;
                ulong linear = MemoryLinear(ins);
                ulong registers = linear + (ulong)EnvironmentSize(size);
                var significands = new ulong[8];
                var exponents = new ushort[8];
                for (int i = 0; i < 8; i++)
                {
                    significands[i] = ReadLinear(registers + (ulong)(10 * i), 8);
                    exponents[i] = (ushort)ReadLinear(registers + (ulong)(10 * i) + 8, 2);
                }

                LoadX87Environment(linear, size);
                for (int i = 0; i < 8; i++)
                {
                    int physical = PhysicalRegister(i);
                    _x87Significand[physical] = significands[i];
                    _x87Exponent[physical] = exponents[i];
                }

                return true;
            }

            default:
                return false;
        }
    }

    private delegate FloatValue X87UnaryOperation(FloatValue a, ref FloatContext context);

    /// <summary>FNINIT's state: FCW 0x37F, FSW 0 (TOP 0), every register empty.</summary>
    private void InitializeX87()
    {
        Fcw = FcwInit;
        Fsw = 0;
        Ftw = 0;
        Fop = 0;
        Fip = Fdp = 0;
    }

    /// <summary>A waiting x87 instruction: #NM checks, a pending unmasked exception reported, FIP/FDP recorded.</summary>
    private void BeginX87(in Instruction ins)
    {
        CheckX87Available();
        ReportPendingX87Exception();
        Fip = _instrStart;
        if (ins.Op0Kind == OpKind.Memory || ins.Op1Kind == OpKind.Memory)
        {
            Fdp = EffectiveOffset(ins);
        }
    }

    /// <summary>#MF for a pending unmasked x87 exception when CR0.NE is set (the FERR#/IRQ13 route of CR0.NE clear is not modelled).</summary>
    private void ReportPendingX87Exception()
    {
        if ((Fsw & FswErrorSummary) != 0 && (Cr0 & Cr0NE) != 0)
        {
            throw new GuestFault(ExceptionVector.MF);
        }
    }

    /// <summary>ES and B follow the flags FCW does not mask (after FLDCW, FLDENV, FRSTOR).</summary>
    private void UpdateErrorSummary()
    {
        bool pending = (Fsw & ~Fcw & (ushort)FloatFlags.All) != 0;
        Fsw = pending ? (ushort)(Fsw | FswErrorSummary | FswBusy) : (ushort)(Fsw & ~(FswErrorSummary | FswBusy));
    }

    private int PhysicalRegister(int stackIndex) => (X87Top + stackIndex) & 7;

    private void SetX87Top(int top) => Fsw = (ushort)((Fsw & ~FswTopMask) | ((top & 7) << FswTopShift));

    private static int StIndex(Register register) => register - Register.ST0;

    private bool X87IsEmpty(int stackIndex) => (Ftw & (1 << PhysicalRegister(stackIndex))) == 0;

    private FloatValue X87Read(int stackIndex)
    {
        int physical = PhysicalRegister(stackIndex);
        return FloatCodec.UnpackExtended(_x87Exponent[physical], _x87Significand[physical]);
    }

    private void X87Write(int stackIndex, FloatValue value) => X87WriteRaw(stackIndex, FloatCodec.PackExtended(value));

    /// <summary>A register's encoding as stored: moves (FLD ST(i), FST ST(i), FXCH, FCMOVcc, FLD m80) copy it bit for bit.</summary>
    private (ushort SignExponent, ulong Significand) X87ReadRaw(int stackIndex)
    {
        int physical = PhysicalRegister(stackIndex);
        return (_x87Exponent[physical], _x87Significand[physical]);
    }

    private void X87WriteRaw(int stackIndex, (ushort SignExponent, ulong Significand) raw)
    {
        int physical = PhysicalRegister(stackIndex);
        (_x87Exponent[physical], _x87Significand[physical]) = raw;
        Ftw |= (byte)(1 << physical);
    }

    private void X87Pop()
    {
        Ftw &= (byte)~(1 << PhysicalRegister(0));
        SetX87Top(X87Top + 1);
    }

    private void X87Push(FloatValue value) => X87PushRaw(FloatCodec.PackExtended(value));

    /// <summary>Pushes an encoding; a full stack (ST(7) in use) is a stack overflow, which masked pushes the indefinite NaN.</summary>
    private void X87PushRaw((ushort SignExponent, ulong Significand) raw)
    {
        if (!X87IsEmpty(7))
        {
            if (!X87StackFault(overflow: true))
            {
                return;
            }

            raw = FloatCodec.PackExtended(FloatValue.DefaultNaN);
        }

        SetX87Top(X87Top - 1);
        X87WriteRaw(0, raw);
    }

    /// <summary>Records IE|SF (C1 = overflow); true when IE is masked and the instruction goes on with the indefinite NaN.</summary>
    private bool X87StackFault(bool overflow)
    {
        Fsw = (ushort)((Fsw & ~FswC1) | FswStackFault | (overflow ? FswC1 : 0));
        return RecordX87Flags(FloatFlags.Invalid);
    }

    /// <summary>
    /// Stack underflow check for an operation reading ST(a) and ST(b): when one is empty, records the fault; masked, the
    /// destination ST(a) gets the indefinite NaN. True when the operation must not continue.
    /// </summary>
    private bool X87Underflow(int a, int b)
    {
        if (!X87IsEmpty(a) && !X87IsEmpty(b))
        {
            return false;
        }

        if (X87StackFault(overflow: false))
        {
            X87Write(a, FloatValue.DefaultNaN);
        }

        return true;
    }

    /// <summary>Records flags in FSW; an unmasked one sets ES and B. False when an unmasked IE, DE or ZE suppresses the result.</summary>
    private bool RecordX87Flags(FloatFlags flags)
    {
        Fsw |= (ushort)flags;
        var unmasked = flags & ~(FloatFlags)Fcw & FloatFlags.All;
        if (unmasked != 0)
        {
            Fsw |= FswErrorSummary | FswBusy;
        }

        return (unmasked & X87Suppressing) == 0;
    }

    /// <summary>The rounding context FCW selects; precision control only where the instruction honours it.</summary>
    private FloatContext X87Context(bool precisionControl)
    {
        int precision = ((Fcw >> FcwPrecisionShift) & 3) switch
        {
            0 => FloatFormat.Single.SignificandBits,
            2 => FloatFormat.Double.SignificandBits,
            _ => FloatFormat.Extended.SignificandBits,
        };
        return new FloatContext(FloatFormat.Extended, (FloatRounding)((Fcw >> FcwRoundingShift) & 3))
        {
            Precision = precisionControl ? precision : 0,
            UnderflowMasked = (Fcw & FcwUnderflowMask) != 0,
            X87NaNRule = true,
        };
    }

    /// <summary>C1 after a rounded result: set when the rounding increased the magnitude.</summary>
    private void SetRoundedUp(in FloatContext context) =>
        Fsw = (ushort)((Fsw & ~FswC1) | (context.RoundedUp ? FswC1 : 0));

    private void X87Load(in Instruction ins)
    {
        (ushort, ulong) value;
        if (ins.Op0Kind == OpKind.Register)
        {
            int i = StIndex(ins.Op0Register);
            if (X87IsEmpty(i))
            {
                if (X87StackFault(overflow: false))
                {
                    X87Push(FloatValue.DefaultNaN);
                }

                return;
            }

            value = X87ReadRaw(i);
        }
        else
        {
            ulong linear = MemoryLinear(ins);
            var format = ins.MemorySize switch
            {
                MemorySize.Float32 => FloatFormat.Single,
                MemorySize.Float64 => FloatFormat.Double,
                _ => FloatFormat.Extended,
            };
            if (format == FloatFormat.Extended)
            {
                // An 80-bit load is a plain copy: no conversion, no exceptions.
                value = ((ushort)ReadLinear(linear + 8, 2), ReadLinear(linear, 8));
            }
            else
            {
                var context = X87Context(precisionControl: false);
                var converted = SoftFloat.Convert(FloatCodec.Unpack(ReadLinear(linear, format.SignificandBits == 24 ? 4 : 8), format), ref context);
                if (!RecordX87Flags(context.Flags))
                {
                    return;
                }

                value = FloatCodec.PackExtended(converted);
            }
        }

        Fsw &= unchecked((ushort)~FswC1);
        X87PushRaw(value);
    }

    private void X87LoadConstant(UInt128 significand, int exponent)
    {
        var context = X87Context(precisionControl: false);
        var value = SoftFloat.Round(false, exponent - 127, significand, ref context);
        Fsw &= unchecked((ushort)~FswC1);
        X87Push(value);
    }

    private void X87LoadInteger(in Instruction ins)
    {
        int size = ins.MemorySize.GetSize();
        long integer = SignExtend(ReadLinear(MemoryLinear(ins), size), size);
        var context = X87Context(precisionControl: false);
        Fsw &= unchecked((ushort)~FswC1);
        X87Push(SoftFloat.FromInteger(integer, ref context));
    }

    private void X87Store(in Instruction ins, bool pop)
    {
        if (ins.Op0Kind == OpKind.Register)
        {
            int i = StIndex(ins.Op0Register);
            if (X87IsEmpty(0))
            {
                if (!X87StackFault(overflow: false))
                {
                    return;
                }

                X87Write(i, FloatValue.DefaultNaN);
            }
            else
            {
                X87WriteRaw(i, X87ReadRaw(0));
                Fsw &= unchecked((ushort)~FswC1);
            }

            if (pop)
            {
                X87Pop();
            }

            return;
        }

        ulong linear = MemoryLinear(ins);
        FloatValue source;
        if (X87IsEmpty(0))
        {
            if (!X87StackFault(overflow: false))
            {
                return;
            }

            source = FloatValue.DefaultNaN;
        }
        else
        {
            source = X87Read(0);
        }

        switch (ins.MemorySize)
        {
            case MemorySize.Float32:
            case MemorySize.Float64:
            {
                var format = ins.MemorySize == MemorySize.Float32 ? FloatFormat.Single : FloatFormat.Double;
                var context = X87Context(precisionControl: false);
                context.Format = format;
                var converted = SoftFloat.Convert(source, ref context);
                if (!RecordX87Flags(context.Flags))
                {
                    return;
                }

                SetRoundedUp(context);
                WriteLinear(linear, format.SignificandBits == 24 ? 4 : 8, FloatCodec.Pack(converted, format));
                break;
            }

            default:
            {
                // An 80-bit store copies the register as it is.
                int physical = PhysicalRegister(0);
                var (exponent, significand) = X87IsEmpty(0) ? FloatCodec.PackExtended(source) : (_x87Exponent[physical], _x87Significand[physical]);
                _ = Translate(linear + 9, AccessKind.Write);
                WriteLinear(linear, 8, significand);
                WriteLinear(linear + 8, 2, exponent);
                Fsw &= unchecked((ushort)~FswC1);
                break;
            }
        }

        if (pop)
        {
            X87Pop();
        }
    }

    /// <summary>FIST/FISTP (FCW rounding) and FISTTP (truncation, an SSE3 instruction kept for completeness) to m16/m32/m64.</summary>
    private void X87StoreInteger(in Instruction ins, bool pop, bool truncate)
    {
        int size = ins.MemorySize.GetSize();
        ulong linear = MemoryLinear(ins);
        ulong indefinite = 1UL << ((8 * size) - 1);
        ulong result;
        if (X87IsEmpty(0))
        {
            if (!X87StackFault(overflow: false))
            {
                return;
            }

            result = indefinite;
        }
        else
        {
            var context = X87Context(precisionControl: false);
            var rounding = truncate ? FloatRounding.TowardZero : context.Rounding;
            long? value = SoftFloat.ToInteger(X87Read(0), 8 * size, rounding, ref context);
            if (!RecordX87Flags(context.Flags))
            {
                return;
            }

            result = value is { } v ? (ulong)v & SizeMask[size] : indefinite;
            Fsw &= unchecked((ushort)~FswC1);
        }

        WriteLinear(linear, size, result);
        if (pop)
        {
            X87Pop();
        }
    }

    /// <summary>
    /// FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR and their P and I forms. With one memory operand: ST(0) = ST(0) op m; with two
    /// registers: first = first op second; P forms pop. Reverse forms compute second op first.
    /// </summary>
    private void X87Arithmetic(in Instruction ins, FloatOperation operation, bool reverse)
    {
        int destination;
        int sourceIndex = -1;
        FloatValue source = default;
        var context = X87Context(precisionControl: true);
        if (ins.Op0Kind == OpKind.Memory)
        {
            destination = 0;
            ulong linear = MemoryLinear(ins);
            source = ins.MemorySize switch
            {
                MemorySize.Float32 => FloatCodec.Unpack(ReadLinear(linear, 4), FloatFormat.Single),
                MemorySize.Float64 => FloatCodec.Unpack(ReadLinear(linear, 8), FloatFormat.Double),
                _ => IntegerOperand(linear, ins.MemorySize.GetSize()),
            };
        }
        else if (ins.OpCount == 1)
        {
            // FADDP etc. with no operands written: ST(1) = ST(1) op ST(0), pop.
            destination = StIndex(ins.Op0Register);
            sourceIndex = 0;
        }
        else
        {
            destination = StIndex(ins.Op0Register);
            sourceIndex = StIndex(ins.Op1Register);
        }

        bool pop = ins.Mnemonic is Mnemonic.Faddp or Mnemonic.Fsubp or Mnemonic.Fsubrp or Mnemonic.Fmulp or Mnemonic.Fdivp or Mnemonic.Fdivrp;
        if (X87Underflow(destination, sourceIndex < 0 ? destination : sourceIndex))
        {
            if (pop && (Fcw & (ushort)FloatFlags.Invalid) != 0)
            {
                X87Pop();
            }

            return;
        }

        if (sourceIndex >= 0)
        {
            source = X87Read(sourceIndex);
        }

        var target = X87Read(destination);
        var result = reverse ? operation(source, target, ref context) : operation(target, source, ref context);
        if (!RecordX87Flags(context.Flags))
        {
            return;
        }

        X87Write(destination, result);
        SetRoundedUp(context);
        if (pop)
        {
            X87Pop();
        }
    }

    /// <summary>An m16int/m32int operand as an exact extended value (precision control applies to the result, not to the operand).</summary>
    private FloatValue IntegerOperand(ulong linear, int size)
    {
        var exact = new FloatContext(FloatFormat.Extended, FloatRounding.NearestEven);
        return SoftFloat.FromInteger(SignExtend(ReadLinear(linear, size), size), ref exact);
    }

    private void X87Unary(X87UnaryOperation operation, bool precisionControl)
    {
        if (X87Underflow(0, 0))
        {
            return;
        }

        var context = X87Context(precisionControl);
        var result = operation(X87Read(0), ref context);
        if (!RecordX87Flags(context.Flags))
        {
            return;
        }

        X87Write(0, result);
        SetRoundedUp(context);
    }

    /// <summary>FSCALE: ST(0) × 2^trunc(ST(1)), rounded by FCW's rounding control only.</summary>
    private void X87Scale()
    {
        if (X87Underflow(0, 1))
        {
            return;
        }

        var context = X87Context(precisionControl: false);
        var value = X87Read(0);
        var scale = X87Read(1);
        FloatValue result;
        if (value.IsNaN || scale.IsNaN || value.Class == FloatClass.Unsupported || scale.Class == FloatClass.Unsupported)
        {
            result = value.Class == FloatClass.Unsupported || scale.Class == FloatClass.Unsupported
                ? SoftFloat.Invalid(ref context)
                : SoftFloat.PropagateNaN(value, scale, ref context);
        }
        else if (scale.Class == FloatClass.Infinity)
        {
            // 0 × 2^+inf and inf × 2^-inf are invalid; otherwise the value goes to infinity or zero.
            bool invalid = (value.Class == FloatClass.Zero && !scale.Sign) || (value.Class == FloatClass.Infinity && scale.Sign);
            result = invalid ? SoftFloat.Invalid(ref context)
                : value.Class is FloatClass.Zero or FloatClass.Infinity ? value
                : scale.Sign ? FloatValue.Zero(value.Sign) : FloatValue.Infinity(value.Sign);
        }
        else if (value.Class != FloatClass.Normal)
        {
            result = value;
        }
        else
        {
            if (value.WasDenormal || scale.WasDenormal)
            {
                context.Flags |= FloatFlags.Denormal;
            }

            // Scale factors beyond ±2^20 saturate: the result over- or underflows either way.
            long? truncated = SoftFloat.ToInteger(scale, 64, FloatRounding.TowardZero, ref context);
            context.Flags &= ~(FloatFlags.Invalid | FloatFlags.Inexact);
            long factor = Math.Clamp(truncated ?? (scale.Sign ? long.MinValue : long.MaxValue), -(1 << 20), 1 << 20);
            result = SoftFloat.Round(value.Sign, value.Exponent - 63 + (int)factor, value.Significand, ref context);
        }

        if (!RecordX87Flags(context.Flags))
        {
            return;
        }

        X87Write(0, result);
        SetRoundedUp(context);
    }

    /// <summary>FXTRACT: ST(0) becomes its exponent (as a value), then its significand (exponent 0) is pushed.</summary>
    private void X87Extract()
    {
        if (X87Underflow(0, 0))
        {
            return;
        }

        var context = X87Context(precisionControl: false);
        var value = X87Read(0);
        FloatValue exponent;
        FloatValue significand;
        switch (value.Class)
        {
            case FloatClass.Zero:
                // Zero: ZE, exponent −inf, significand the zero.
                context.Flags |= FloatFlags.DivideByZero;
                exponent = FloatValue.Infinity(true);
                significand = value;
                break;
            case FloatClass.Infinity:
                exponent = FloatValue.Infinity(false);
                significand = value;
                break;
            case FloatClass.Normal:
                if (value.WasDenormal)
                {
                    context.Flags |= FloatFlags.Denormal;
                }

                exponent = SoftFloat.FromInteger(value.Exponent, ref context);
                significand = value with { Exponent = 0, WasDenormal = false };
                break;
            default:
                exponent = significand = value.Class == FloatClass.Unsupported ? SoftFloat.Invalid(ref context) : SoftFloat.PropagateNaN(value, value, ref context);
                break;
        }

        if (!RecordX87Flags(context.Flags))
        {
            return;
        }

        X87Write(0, exponent);
        X87Push(significand);
    }

    /// <summary>
    /// FPREM (truncating quotient) and FPREM1 (IEEE remainder, nearest quotient): exact. When the exponents differ by 64 or
    /// more only a partial reduction is done and C2 is set, as on hardware; otherwise C2 is clear and C0, C3, C1 receive the
    /// quotient's bits 2, 1 and 0.
    /// </summary>
    private void X87PartialRemainder(bool nearest)
    {
        if (X87Underflow(0, 1))
        {
            return;
        }

        var context = X87Context(precisionControl: false);
        var dividend = X87Read(0);
        var divisor = X87Read(1);
        FloatValue result;
        ushort codes = 0;
        if (dividend.IsNaN || divisor.IsNaN)
        {
            result = SoftFloat.PropagateNaN(dividend, divisor, ref context);
        }
        else if (dividend.Class is FloatClass.Infinity or FloatClass.Unsupported || divisor.Class is FloatClass.Zero or FloatClass.Unsupported)
        {
            result = SoftFloat.Invalid(ref context);
        }
        else if (dividend.Class == FloatClass.Zero || divisor.Class == FloatClass.Infinity)
        {
            if (dividend.WasDenormal || divisor.WasDenormal)
            {
                context.Flags |= FloatFlags.Denormal;
            }

            result = dividend;
        }
        else
        {
            if (dividend.WasDenormal || divisor.WasDenormal)
            {
                context.Flags |= FloatFlags.Denormal;
            }

            int difference = dividend.Exponent - divisor.Exponent;
            if (difference < 0 && !(nearest && difference == -1))
            {
                // |dividend| < |divisor| (or less than half of it for FPREM1): the dividend is the remainder.
                result = dividend;
            }
            else if (difference >= 64)
            {
                // Partial: reduce by a multiple of the divisor scaled to leave an exponent difference of 32..63.
                int reduce = difference - 32 - (difference % 32);
                var exact = System.Numerics.BigInteger.Remainder((System.Numerics.BigInteger)dividend.Significand << (difference - reduce), divisor.Significand);
                result = exact.IsZero
                    ? FloatValue.Zero(dividend.Sign)
                    : SoftFloat.Round(dividend.Sign, divisor.Exponent - 63 + reduce, (UInt128)exact, ref context);
                codes = FswC2;
            }
            else
            {
                // Exact: remainder = a − q·b with q truncated (FPREM) or nearest-even (FPREM1); both scaled to the divisor's exponent.
                int shift = Math.Max(difference, 0);
                UInt128 a = (UInt128)dividend.Significand << shift;
                UInt128 b = divisor.Significand;
                int scale = divisor.Exponent - 63;
                if (difference < 0)
                {
                    // FPREM1 with |a| in [b/4, b): compare at one more bit of precision.
                    a = dividend.Significand;
                    b = (UInt128)divisor.Significand << 1;
                    scale = dividend.Exponent - 63;
                }

                UInt128 quotient = a / b;
                UInt128 remainder = a % b;
                bool negate = false;
                if (nearest && (remainder * 2 > b || (remainder * 2 == b && (quotient & UInt128.One) != UInt128.Zero)))
                {
                    quotient++;
                    remainder = b - remainder;
                    negate = true;
                }

                result = remainder == UInt128.Zero
                    ? FloatValue.Zero(dividend.Sign)
                    : SoftFloat.Round(dividend.Sign ^ negate, scale, remainder, ref context);
                ulong q = (ulong)quotient;
                codes = (ushort)(((q & 4) != 0 ? FswC0 : 0) | ((q & 2) != 0 ? FswC3 : 0) | ((q & 1) != 0 ? FswC1 : 0));
            }
        }

        if (!RecordX87Flags(context.Flags))
        {
            return;
        }

        X87Write(0, result);
        Fsw = (ushort)((Fsw & ~FswConditionCodes) | codes);
    }

    /// <summary>FCOM/FCOMP/FCOMPP/FUCOM*/FICOM*/FTST: C3, C2, C0 = 000 greater, 001 less, 100 equal, 111 unordered; C1 clear.</summary>
    private void X87Compare(in Instruction ins, bool signalling, int pops)
    {
        var context = X87Context(precisionControl: false);
        int sourceIndex = 1;
        FloatValue? source = null;
        if (ins.Mnemonic == Mnemonic.Ftst)
        {
            source = FloatValue.Zero(false);
        }
        else if (ins.Op0Kind == OpKind.Memory)
        {
            ulong linear = MemoryLinear(ins);
            source = ins.MemorySize switch
            {
                MemorySize.Float32 => FloatCodec.Unpack(ReadLinear(linear, 4), FloatFormat.Single),
                MemorySize.Float64 => FloatCodec.Unpack(ReadLinear(linear, 8), FloatFormat.Double),
                _ => IntegerOperand(linear, ins.MemorySize.GetSize()),
            };
        }
        else if (ins.OpCount == 2)
        {
            sourceIndex = StIndex(ins.Op1Register);
        }
        else if (ins.OpCount == 1)
        {
            sourceIndex = StIndex(ins.Op0Register);
        }

        SoftFloat.Ordering order;
        if (X87IsEmpty(0) || (source is null && X87IsEmpty(sourceIndex)))
        {
            if (!X87StackFault(overflow: false))
            {
                return;
            }

            order = SoftFloat.Ordering.Unordered;
        }
        else
        {
            order = SoftFloat.Compare(X87Read(0), source ?? X87Read(sourceIndex), signalling, ref context);
            if (!RecordX87Flags(context.Flags))
            {
                return;
            }
        }

        ushort codes = order switch
        {
            SoftFloat.Ordering.Greater => 0,
            SoftFloat.Ordering.Less => FswC0,
            SoftFloat.Ordering.Equal => FswC3,
            _ => FswC3 | FswC2 | FswC0,
        };
        Fsw = (ushort)((Fsw & ~FswConditionCodes) | codes);
        for (int i = 0; i < pops; i++)
        {
            X87Pop();
        }
    }

    /// <summary>FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF, PF, CF as COMISS sets them; the other flags are kept.</summary>
    private void X87CompareFlags(in Instruction ins, bool signalling, bool pop)
    {
        int i = StIndex(ins.Op1Register);
        var context = X87Context(precisionControl: false);
        SoftFloat.Ordering order;
        if (X87IsEmpty(0) || X87IsEmpty(i))
        {
            if (!X87StackFault(overflow: false))
            {
                return;
            }

            order = SoftFloat.Ordering.Unordered;
        }
        else
        {
            order = SoftFloat.Compare(X87Read(0), X87Read(i), signalling, ref context);
            if (!RecordX87Flags(context.Flags))
            {
                return;
            }
        }

        Flags = (Flags & ~(RFlags.ZF | RFlags.PF | RFlags.CF)) | CompareFlags(order);
        Fsw &= unchecked((ushort)~FswC1);
        if (pop)
        {
            X87Pop();
        }
    }

    /// <summary>FXAM: C1 = sign; C3, C2, C0 = class (unsupported, NaN, normal, infinity, zero, empty, denormal).</summary>
    private void X87Examine()
    {
        var value = X87Read(0);
        ushort codes = X87IsEmpty(0) ? (ushort)(FswC3 | FswC0) : value.Class switch
        {
            FloatClass.Unsupported => (ushort)0,
            FloatClass.QuietNaN or FloatClass.SignallingNaN => FswC0,
            FloatClass.Infinity => (ushort)(FswC2 | FswC0),
            FloatClass.Zero => FswC3,
            _ when value.WasDenormal => (ushort)(FswC3 | FswC2),
            _ => FswC2,
        };
        int physical = PhysicalRegister(0);
        bool sign = (_x87Exponent[physical] & 0x8000) != 0;
        Fsw = (ushort)((Fsw & ~FswConditionCodes) | codes | (sign ? FswC1 : 0));
    }

    private void X87ConditionalMove(in Instruction ins, bool condition)
    {
        int i = StIndex(ins.Op1Register);
        if (X87Underflow(0, i))
        {
            return;
        }

        if (condition)
        {
            X87WriteRaw(0, X87ReadRaw(i));
        }

        Fsw &= unchecked((ushort)~FswC1);
    }

    private static int EnvironmentSize(int operandSize) => operandSize == 2 ? 14 : 28;

    /// <summary>The full tag word: two bits per physical register (valid, zero, special, empty).</summary>
    private ushort FullTagWord()
    {
        int tags = 0;
        for (int physical = 0; physical < 8; physical++)
        {
            int tag;
            if ((Ftw & (1 << physical)) == 0)
            {
                tag = TagEmpty;
            }
            else
            {
                var value = FloatCodec.UnpackExtended(_x87Exponent[physical], _x87Significand[physical]);
                tag = value.Class switch
                {
                    FloatClass.Zero => TagZero,
                    FloatClass.Normal when !value.WasDenormal => TagValid,
                    _ => TagSpecial,
                };
            }

            tags |= tag << (2 * physical);
        }

        return (ushort)tags;
    }

    /// <summary>
    /// FNSTENV's protected-mode layout (28 bytes with a 32-bit operand size, 14 with 16-bit): FCW, FSW, full tag word, FIP,
    /// FCS and FOP, FDP, FDS. Real mode uses the same layout here (its split FIP/FDP format is not modelled).
    /// </summary>
    private void StoreX87Environment(ulong linear, int operandSize)
    {
        _ = Translate(linear + (ulong)EnvironmentSize(operandSize) - 1, AccessKind.Write);
        ulong[] fields = [Fcw, Fsw, FullTagWord(), Fip & 0xFFFF_FFFF, (ulong)Fop << 16, Fdp & 0xFFFF_FFFF, 0];
        for (int i = 0; i < fields.Length; i++)
        {
            WriteLinear(linear + (ulong)(i * operandSize), operandSize, fields[i] & SizeMask[operandSize]);
        }
    }

    private void LoadX87Environment(ulong linear, int operandSize)
    {
        ushort fcw = (ushort)ReadLinear(linear, 2);
        ushort fsw = (ushort)ReadLinear(linear + (ulong)operandSize, 2);
        ushort tags = (ushort)ReadLinear(linear + (ulong)(2 * operandSize), 2);
        ulong fip = ReadLinear(linear + (ulong)(3 * operandSize), operandSize);
        ulong fdp = ReadLinear(linear + (ulong)(5 * operandSize), operandSize);
        Fcw = (ushort)(fcw | 0x40);
        Fsw = fsw;
        byte abridged = 0;
        for (int physical = 0; physical < 8; physical++)
        {
            if (((tags >> (2 * physical)) & 3) != TagEmpty)
            {
                abridged |= (byte)(1 << physical);
            }
        }

        Ftw = abridged;
        Fip = fip;
        Fdp = fdp;
        UpdateErrorSummary();
    }
}
