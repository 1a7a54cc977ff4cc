using System.Numerics;
using System.Runtime.CompilerServices;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// The status-flag formulas of the group-1 ALU operations and INC/DEC, and the condition codes: one copy shared by
/// the interpreter (<see cref="X86Core"/>'s Arith/IncDec/Condition) and by translated blocks, so both give the same flags.
/// Each returns only the six status bits; <c>sign</c> is the operand size's sign bit.
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
