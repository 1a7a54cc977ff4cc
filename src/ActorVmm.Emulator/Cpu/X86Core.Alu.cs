using System.Runtime.CompilerServices;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Arithmetic with exact flags (computed eagerly; undefined flags follow what Intel hardware does where cheap).</summary>
internal sealed partial class X86Core
{
    internal const int OpAdd = 0;
    internal const int OpOr = 1;
    internal const int OpAdc = 2;
    internal const int OpSbb = 3;
    internal const int OpAnd = 4;
    internal const int OpSub = 5;
    internal const int OpXor = 6;
    internal const int OpCmp = 7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SzpFlags(ulong result, int size) => AluFlags.Szp(result, SignBit[size]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetStatus(ulong flags) => Flags = (Flags & ~RFlags.Status) | flags;

    /// <summary>The group-1 ALU operation <paramref name="op"/> on masked operands; sets the six status flags.</summary>
    private ulong Arith(int op, ulong a, ulong b, int size)
    {
        ulong mask = SizeMask[size];
        ulong sign = SignBit[size];
        ulong r;
        switch (op)
        {
            case OpAdd:
                r = (a + b) & mask;
                SetStatus(AluFlags.Add(a, b, r, sign, 0));
                return r;
            case OpAdc:
            {
                ulong c = Flags & RFlags.CF;
                r = (a + b + c) & mask;
                SetStatus(AluFlags.Add(a, b, r, sign, c));
                return r;
            }

            case OpSub:
            case OpCmp:
                r = (a - b) & mask;
                SetStatus(AluFlags.Sub(a, b, r, sign, 0));
                return r;
            case OpSbb:
            {
                ulong c = Flags & RFlags.CF;
                r = (a - b - c) & mask;
                SetStatus(AluFlags.Sub(a, b, r, sign, c));
                return r;
            }

            case OpAnd:
                r = a & b;
                break;
            case OpOr:
                r = a | b;
                break;
            default:
                r = a ^ b;
                break;
        }

        SetStatus(AluFlags.Szp(r, sign));
        return r;
    }

    private ulong IncDec(ulong a, int size, bool increment)
    {
        ulong r = (increment ? a + 1 : a - 1) & SizeMask[size];
        SetStatus((Flags & RFlags.CF) | AluFlags.IncDec(a, r, SignBit[size], increment));
        return r;
    }

    private static int AluOpOf(Mnemonic mnemonic) => mnemonic switch
    {
        Mnemonic.Add => OpAdd,
        Mnemonic.Or => OpOr,
        Mnemonic.Adc => OpAdc,
        Mnemonic.Sbb => OpSbb,
        Mnemonic.And => OpAnd,
        Mnemonic.Sub => OpSub,
        Mnemonic.Xor => OpXor,
        _ => OpCmp,
    };

    /// <summary>SHL/SHR/SAR/ROL/ROR/RCL/RCR; <paramref name="count"/> is already masked to 5 or 6 bits.</summary>
    private ulong ShiftRotate(Mnemonic mnemonic, ulong a, int count, int size)
    {
        if (count == 0)
        {
            return a;
        }

        int bits = size * 8;
        ulong mask = SizeMask[size];
        ulong sign = SignBit[size];
        ulong r;
        ulong f = Flags & RFlags.Status;
        switch (mnemonic)
        {
            case Mnemonic.Shl:
            case Mnemonic.Sal:
            {
                r = count >= 64 ? 0 : (a << count) & mask;
                f = AluFlags.ShiftLeft(a, r, count, bits);
                break;
            }

            case Mnemonic.Shr:
            {
                r = count >= bits ? 0 : a >> count;
                f = AluFlags.ShiftRight(a, r, count, bits);
                break;
            }

            case Mnemonic.Sar:
            {
                long signed = (long)(a << (64 - bits)) >> (64 - bits);
                r = (ulong)(signed >> Math.Min(count, 63)) & mask;
                f = AluFlags.ShiftArithmetic(a, r, count, bits);
                break;
            }

            case Mnemonic.Rol:
            {
                int n = count % bits;
                r = n == 0 ? a : ((a << n) | (a >> (bits - n))) & mask;
                f = (f & ~(RFlags.CF | RFlags.OF)) | AluFlags.RotateLeft(r, bits);
                break;
            }

            case Mnemonic.Ror:
            {
                int n = count % bits;
                r = n == 0 ? a : ((a >> n) | (a << (bits - n))) & mask;
                f = (f & ~(RFlags.CF | RFlags.OF)) | AluFlags.RotateRight(r, bits);
                break;
            }

            case Mnemonic.Rcl:
            {
                int n = size switch { 1 => count % 9, 2 => count % 17, _ => count };
                ulong cf = Flags & RFlags.CF;
                r = a;
                for (int i = 0; i < n; i++)
                {
                    ulong outBit = (r & sign) != 0 ? 1UL : 0;
                    r = ((r << 1) | cf) & mask;
                    cf = outBit;
                }

                f = (f & ~(RFlags.CF | RFlags.OF)) | cf;
                if (((r & sign) != 0) ^ (cf != 0))
                {
                    f |= RFlags.OF;
                }

                break;
            }

            default:
            {
                int n = size switch { 1 => count % 9, 2 => count % 17, _ => count };
                ulong cf = Flags & RFlags.CF;
                r = a;
                for (int i = 0; i < n; i++)
                {
                    ulong outBit = r & 1;
                    r = (r >> 1) | (cf != 0 ? sign : 0);
                    cf = outBit;
                }

                bool msb = (r & sign) != 0;
                bool next = (r & (sign >> 1)) != 0;
                f = (f & ~(RFlags.CF | RFlags.OF)) | cf | (msb ^ next ? RFlags.OF : 0);
                break;
            }
        }

        SetStatus(f);
        return r;
    }

    /// <summary>SHLD/SHRD: shifts <paramref name="a"/> filling from <paramref name="b"/>.</summary>
    private ulong DoubleShift(bool left, ulong a, ulong b, int count, int size)
    {
        int bits = size * 8;
        if (count == 0 || count > bits)
        {
            return a;
        }

        ulong mask = SizeMask[size];
        ulong r;
        bool cf;
        if (left)
        {
            r = count == bits ? b : ((a << count) | (b >> (bits - count))) & mask;
            cf = ((a >> (bits - count)) & 1) != 0;
        }
        else
        {
            r = count == bits ? b : ((a >> count) | (b << (bits - count))) & mask;
            cf = ((a >> (count - 1)) & 1) != 0;
        }

        ulong f = SzpFlags(r, size) | (cf ? RFlags.CF : 0);
        if (((r ^ a) & SignBit[size]) != 0)
        {
            f |= RFlags.OF;
        }

        SetStatus(f);
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Condition(ConditionCode cc) => AluFlags.Condition(Flags, cc);

    /// <summary>MUL/IMUL with one operand: widening multiply of the accumulator.</summary>
    private void MultiplyAccumulator(bool signed, ulong src, int size)
    {
        ulong a = ReadGprSized(RAX, size);
        ulong lo;
        ulong hi;
        bool overflow;
        if (size == 8)
        {
            if (signed)
            {
                long h = Math.BigMul((long)a, (long)src, out long l);
                lo = (ulong)l;
                hi = (ulong)h;
                overflow = h != (l >> 63);
            }
            else
            {
                hi = Math.BigMul(a, src, out lo);
                overflow = hi != 0;
            }
        }
        else
        {
            int bits = size * 8;
            ulong full;
            if (signed)
            {
                long product = SignExtend(a, size) * SignExtend(src, size);
                full = (ulong)product;
                overflow = product != SignExtend((ulong)product & SizeMask[size], size);
            }
            else
            {
                full = a * src;
                overflow = (full >> bits) != 0;
            }

            lo = full & SizeMask[size];
            hi = (full >> bits) & SizeMask[size];
        }

        if (size == 1)
        {
            WriteGpr(RAX, 2, (hi << 8) | lo);
        }
        else
        {
            WriteGpr(RAX, size, lo);
            WriteGpr(RDX, size, hi);
        }

        SetStatus(SzpFlags(lo, size) | (overflow ? RFlags.CF | RFlags.OF : 0));
    }

    /// <summary>Two/three-operand IMUL: truncating signed multiply.</summary>
    private ulong MultiplyTruncating(ulong a, ulong b, int size)
    {
        // The low half of the product is the same signed or unsigned.
        ulong result = (a * b) & SizeMask[size];
        SetStatus(AluFlags.MultiplyTruncating(a, b, result, size * 8));
        return result;
    }

    /// <summary>DIV/IDIV of the accumulator pair; #DE on a zero divisor or a quotient that does not fit.</summary>
    private void Divide(bool signed, ulong divisor, int size)
    {
        if (divisor == 0)
        {
            throw new GuestFault(ExceptionVector.DE);
        }

        ulong lowPart = size == 1 ? ReadGprSized(RAX, 2) : ReadGprSized(RAX, size);
        ulong highPart = size == 1 ? 0 : ReadGprSized(RDX, size);
        ulong quotient;
        ulong remainder;
        int bits = size * 8;
        if (signed)
        {
            Int128 dividend = size == 1
                ? SignExtend(lowPart, 2)
                : (Int128)(((UInt128)highPart << bits) | lowPart) << (128 - (2 * bits)) >> (128 - (2 * bits));
            Int128 d = SignExtend(divisor, size);
            Int128 q = dividend / d;
            Int128 rem = dividend % d;
            Int128 max = (Int128)SizeMask[size] >> 1;
            if (q > max || q < -max - 1)
            {
                throw new GuestFault(ExceptionVector.DE);
            }

            quotient = (ulong)q & SizeMask[size];
            remainder = (ulong)rem & SizeMask[size];
        }
        else
        {
            UInt128 dividend = size == 1 ? lowPart : ((UInt128)highPart << bits) | lowPart;
            UInt128 q = dividend / divisor;
            if (q > SizeMask[size])
            {
                throw new GuestFault(ExceptionVector.DE);
            }

            quotient = (ulong)q;
            remainder = (ulong)(dividend % divisor);
        }

        if (size == 1)
        {
            WriteGpr(RAX, 2, (remainder << 8) | quotient);
        }
        else
        {
            WriteGpr(RAX, size, quotient);
            WriteGpr(RDX, size, remainder);
        }
    }

    private ulong ReadGprSized(int index, int size) => Gpr[index] & SizeMask[size];

    private static long SignExtend(ulong value, int size) => size switch
    {
        1 => (sbyte)value,
        2 => (short)value,
        4 => (int)value,
        _ => (long)value,
    };
}
