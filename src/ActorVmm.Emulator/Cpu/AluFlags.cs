using System.Numerics;
using System.Runtime.CompilerServices;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// The status-flag formulas of the group-1 ALU operations, INC/DEC, SHL/SHR/SAR/ROL/ROR, two/three-operand IMUL, and
/// the condition codes: one copy shared by the interpreter (<see cref="X86Core"/>'s Arith/IncDec/ShiftRotate/
/// MultiplyTruncating/Condition) and by translated blocks, so both give the same flags. Each returns only status bits;
/// <c>sign</c> is the operand size's sign bit, <c>bits</c> its width.
/// </summary>
internal static class AluFlags
{
    /// <summary>SF, ZF and PF of a result (AF/CF/OF clear: what AND/OR/XOR/TEST leave).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Szp(ulong result, ulong sign)
    {
        ulong flags = (ulong)((~BitOperations.PopCount((uint)(result & 0xFF)) & 1) << 2);
        if (result == 0)
        {
            flags |= RFlags.ZF;
        }

        if ((result & sign) != 0)
        {
            flags |= RFlags.SF;
        }

        return flags;
    }

    /// <summary>ADD, and ADC with <paramref name="carry"/> (0 or 1); <paramref name="r"/> is the masked result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Add(ulong a, ulong b, ulong r, ulong sign, ulong carry)
    {
        ulong f = (carry != 0 ? r <= a : r < a) ? RFlags.CF : 0;
        f |= ((a ^ r) & (b ^ r) & sign) != 0 ? RFlags.OF : 0;
        f |= (a ^ b ^ r) & RFlags.AF;
        return f | Szp(r, sign);
    }

    /// <summary>SUB/CMP, and SBB with <paramref name="borrow"/> (0 or 1); <paramref name="r"/> is the masked result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Sub(ulong a, ulong b, ulong r, ulong sign, ulong borrow)
    {
        ulong f = (borrow != 0 ? a <= b : a < b) ? RFlags.CF : 0;
        f |= ((a ^ b) & (a ^ r) & sign) != 0 ? RFlags.OF : 0;
        f |= (a ^ b ^ r) & RFlags.AF;
        return f | Szp(r, sign);
    }

    /// <summary>INC (<paramref name="increment"/>) or DEC: every status flag but CF, which the caller keeps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong IncDec(ulong a, ulong r, ulong sign, bool increment)
    {
        ulong f = (a ^ r) & RFlags.AF;
        if (increment ? r == sign : a == sign)
        {
            f |= RFlags.OF;
        }

        return f | Szp(r, sign);
    }

    /// <summary>
    /// SHL/SAL by a non-zero masked <paramref name="count"/> of a <paramref name="bits"/>-bit <paramref name="a"/>
    /// giving <paramref name="r"/>: CF is the last bit shifted out, OF is MSB(result) XOR CF (Intel defines it for a
    /// count of 1; kept for every count), AF clear.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ShiftLeft(ulong a, ulong r, int count, int bits)
    {
        ulong sign = 1UL << (bits - 1);
        bool cf = count <= bits && ((a >> (bits - count)) & 1) != 0;
        ulong f = Szp(r, sign) | (cf ? RFlags.CF : 0);
        return ((r & sign) != 0) ^ cf ? f | RFlags.OF : f;
    }

    /// <summary>SHR by a non-zero masked <paramref name="count"/>: CF the last bit shifted out, OF the operand's MSB for a count of 1 (else clear), AF clear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ShiftRight(ulong a, ulong r, int count, int bits)
    {
        ulong sign = 1UL << (bits - 1);
        bool cf = ((a >> (count - 1)) & 1) != 0;
        ulong f = Szp(r, sign) | (cf ? RFlags.CF : 0);
        return count == 1 && (a & sign) != 0 ? f | RFlags.OF : f;
    }

    /// <summary>SAR by a non-zero masked <paramref name="count"/>: CF the last bit shifted out (the sign once the count passes the width), OF and AF clear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ShiftArithmetic(ulong a, ulong r, int count, int bits)
    {
        long signed = (long)(a << (64 - bits)) >> (64 - bits);
        bool cf = ((signed >> Math.Min(count - 1, 63)) & 1) != 0;
        return Szp(r, 1UL << (bits - 1)) | (cf ? RFlags.CF : 0);
    }

    /// <summary>ROL by a non-zero masked count giving <paramref name="r"/>: only CF (the bit rotated into bit 0) and OF (MSB XOR CF); the caller keeps the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RotateLeft(ulong r, int bits)
    {
        bool cf = (r & 1) != 0;
        bool msb = ((r >> (bits - 1)) & 1) != 0;
        return (cf ? RFlags.CF : 0) | (msb ^ cf ? RFlags.OF : 0);
    }

    /// <summary>ROR by a non-zero masked count giving <paramref name="r"/>: only CF (the MSB) and OF (the two top bits differ); the caller keeps the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RotateRight(ulong r, int bits)
    {
        bool msb = ((r >> (bits - 1)) & 1) != 0;
        bool next = ((r >> (bits - 2)) & 1) != 0;
        return (msb ? RFlags.CF : 0) | (msb ^ next ? RFlags.OF : 0);
    }

    /// <summary>
    /// Two/three-operand IMUL of the <paramref name="bits"/>-bit operands <paramref name="a"/> and <paramref name="b"/>
    /// giving the truncated <paramref name="r"/>: CF = OF = the signed product does not fit; SF/ZF/PF of the result, AF clear.
    /// </summary>
    public static ulong MultiplyTruncating(ulong a, ulong b, ulong r, int bits)
    {
        bool overflow;
        if (bits == 64)
        {
            long high = Math.BigMul((long)a, (long)b, out long low);
            overflow = high != (low >> 63);
        }
        else
        {
            int shift = 64 - bits;
            long product = ((long)(a << shift) >> shift) * ((long)(b << shift) >> shift);
            overflow = product != (long)(r << shift) >> shift;
        }

        return Szp(r, 1UL << (bits - 1)) | (overflow ? RFlags.CF | RFlags.OF : 0);
    }

    /// <summary>Whether condition <paramref name="cc"/> holds for <paramref name="f"/> (Jcc/SETcc/CMOVcc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Condition(ulong f, ConditionCode cc) => cc switch
    {
        ConditionCode.o => (f & RFlags.OF) != 0,
        ConditionCode.no => (f & RFlags.OF) == 0,
        ConditionCode.b => (f & RFlags.CF) != 0,
        ConditionCode.ae => (f & RFlags.CF) == 0,
        ConditionCode.e => (f & RFlags.ZF) != 0,
        ConditionCode.ne => (f & RFlags.ZF) == 0,
        ConditionCode.be => (f & (RFlags.CF | RFlags.ZF)) != 0,
        ConditionCode.a => (f & (RFlags.CF | RFlags.ZF)) == 0,
        ConditionCode.s => (f & RFlags.SF) != 0,
        ConditionCode.ns => (f & RFlags.SF) == 0,
        ConditionCode.p => (f & RFlags.PF) != 0,
        ConditionCode.np => (f & RFlags.PF) == 0,
        ConditionCode.l => ((f & RFlags.SF) != 0) != ((f & RFlags.OF) != 0),
        ConditionCode.ge => ((f & RFlags.SF) != 0) == ((f & RFlags.OF) != 0),
        ConditionCode.le => (f & RFlags.ZF) != 0 || (((f & RFlags.SF) != 0) != ((f & RFlags.OF) != 0)),
        ConditionCode.g => (f & RFlags.ZF) == 0 && (((f & RFlags.SF) != 0) == ((f & RFlags.OF) != 0)),
        _ => true,
    };

    /// <summary>The status flags condition <paramref name="cc"/> reads.</summary>
    public static ulong ConditionReads(ConditionCode cc) => cc switch
    {
        ConditionCode.o or ConditionCode.no => RFlags.OF,
        ConditionCode.b or ConditionCode.ae => RFlags.CF,
        ConditionCode.e or ConditionCode.ne => RFlags.ZF,
        ConditionCode.be or ConditionCode.a => RFlags.CF | RFlags.ZF,
        ConditionCode.s or ConditionCode.ns => RFlags.SF,
        ConditionCode.p or ConditionCode.np => RFlags.PF,
        ConditionCode.l or ConditionCode.ge => RFlags.SF | RFlags.OF,
        ConditionCode.le or ConditionCode.g => RFlags.ZF | RFlags.SF | RFlags.OF,
        _ => 0,
    };
}
