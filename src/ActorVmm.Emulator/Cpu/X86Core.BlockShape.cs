using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Which instructions block translation covers, and what each reads and writes of the flags.</summary>
internal sealed partial class X86Core
{
    /// <summary>How a translated instruction is emitted.</summary>
    private enum BlockOp : byte
    {
        /// <summary>Not translated: the block ends before it and the interpreter runs it.</summary>
        None,
        Alu,

        /// <summary>An ALU op with a memory source (<c>op reg, [mem]</c>) or destination (<c>op [mem], reg/imm</c>).</summary>
        AluMemory,
        IncDec,

        /// <summary>INC/DEC of memory.</summary>
        IncDecMemory,

        /// <summary>NOT/NEG of a GPR.</summary>
        Unary,

        /// <summary>SHL/SHR/SAR/ROL/ROR of a GPR by an immediate, and SHL/SHR/SAR by CL.</summary>
        Shift,

        /// <summary>Two/three-operand IMUL from a register (and an immediate).</summary>
        Multiply,

        /// <summary>Two/three-operand IMUL from memory.</summary>
        MultiplyLoad,

        /// <summary>SETcc of a byte register.</summary>
        SetCondition,

        /// <summary>CMOVcc from a register.</summary>
        ConditionalMove,

        /// <summary>CMOVcc from memory (read whether or not the condition holds).</summary>
        ConditionalMoveLoad,
        MovRegister,
        Load,
        Store,
        Lea,

        /// <summary>MOVZX/MOVSX/MOVSXD from a register.</summary>
        Extend,

        /// <summary>MOVZX/MOVSX/MOVSXD from memory.</summary>
        ExtendLoad,
        Jcc,
        Jmp,
        Loop,
        JumpIfCounterZero,
        Push,
        Pop,
        Call,
        Ret,
        In,
        Out,
        Nop,

        /// <summary>Any other instruction that continues at the next one: the block calls the interpreter for it.</summary>
        Interpret,

        /// <summary>An indirect near JMP/CALL: the block calls the interpreter for it and leaves at the RIP it set.</summary>
        InterpretBranch,
    }

    /// <summary>One instruction of a block with what the compiler needs to know about it.</summary>
    private readonly struct BlockShape(BlockOp op, ulong flagsRead, ulong flagsWritten)
    {
        public BlockOp Op { get; } = op;

        /// <summary>Status flags the instruction reads (all of them for an instruction that calls out of the block).</summary>
        public ulong FlagsRead { get; } = flagsRead;

        /// <summary>Status flags the instruction defines.</summary>
        public ulong FlagsWritten { get; } = flagsWritten;

        /// <summary>Calls into the core (memory, stack, port I/O): it can fault, dispatch a trap or end the batch.</summary>
        public bool CallsOut => Op is BlockOp.AluMemory or BlockOp.IncDecMemory or BlockOp.MultiplyLoad or BlockOp.ConditionalMoveLoad
            or BlockOp.Load or BlockOp.ExtendLoad or BlockOp.Store or BlockOp.Push or BlockOp.Pop or BlockOp.Call
            or BlockOp.Ret or BlockOp.In or BlockOp.Out or BlockOp.Interpret or BlockOp.InterpretBranch;

        /// <summary>The block ends after this instruction (a control transfer).</summary>
        public bool EndsBlock => Op is BlockOp.Jcc or BlockOp.Jmp or BlockOp.Loop or BlockOp.JumpIfCounterZero
            or BlockOp.Call or BlockOp.Ret or BlockOp.InterpretBranch;
    }

    /// <summary>
    /// How a block covers <paramref name="ins"/>: its IL translation, else the interpreter inside the block, else
    /// <see cref="BlockOp.None"/> (the block ends before it).
    /// </summary>
    private static BlockShape ShapeOf(in Instruction ins)
    {
        if (ins.IsInvalid)
        {
            return default;
        }

        var translated = TranslatedShape(ins);
        return translated.Op != BlockOp.None ? translated : InterpretedShape(ins);
    }

    /// <summary>Whether <paramref name="ins"/> has its own IL translation (not the interpreter's fallback inside a block).</summary>
    internal static bool HasOwnTranslation(in Instruction ins) => !ins.IsInvalid && TranslatedShape(ins).Op is not BlockOp.None;

    /// <summary>The IL translation of <paramref name="ins"/>, or <see cref="BlockOp.None"/>.</summary>
    private static BlockShape TranslatedShape(in Instruction ins)
    {
        if (ins.HasLockPrefix || ins.HasRepPrefix || ins.HasRepnePrefix)
        {
            return default;
        }

        if (ins.IsJccShortOrNear)
        {
            return new BlockShape(BlockOp.Jcc, AluFlags.ConditionReads(ins.ConditionCode), 0);
        }

        switch (ins.Mnemonic)
        {
            case Mnemonic.Add:
            case Mnemonic.Or:
            case Mnemonic.And:
            case Mnemonic.Sub:
            case Mnemonic.Xor:
            case Mnemonic.Cmp:
            case Mnemonic.Test:
            case Mnemonic.Adc:
            case Mnemonic.Sbb:
                return AluShape(ins);

            case Mnemonic.Shl:
            case Mnemonic.Sal:
            case Mnemonic.Shr:
            case Mnemonic.Sar:
            case Mnemonic.Rol:
            case Mnemonic.Ror:
                return ShiftShape(ins);

            case Mnemonic.Imul:
                return MultiplyShape(ins);

            case Mnemonic.Inc:
            case Mnemonic.Dec:
                if (IsGpr(ins, 0))
                {
                    return new BlockShape(BlockOp.IncDec, 0, RFlags.Status & ~RFlags.CF);
                }

                return IsPlainMemory(ins, 0) ? new BlockShape(BlockOp.IncDecMemory, RFlags.Status, RFlags.Status & ~RFlags.CF) : default;

            case Mnemonic.Mov:
                if (IsGpr(ins, 0) && (IsGpr(ins, 1) || IsImmediate(ins, 1)))
                {
                    return new BlockShape(BlockOp.MovRegister, 0, 0);
                }

                if (IsGpr(ins, 0) && IsPlainMemory(ins, 1))
                {
                    return CallOut(BlockOp.Load);
                }

                return IsPlainMemory(ins, 0) && (IsGpr(ins, 1) || IsImmediate(ins, 1)) ? CallOut(BlockOp.Store) : default;

            case Mnemonic.Movzx:
            case Mnemonic.Movsx:
            case Mnemonic.Movsxd:
                if (IsGpr(ins, 0) && IsGpr(ins, 1))
                {
                    return new BlockShape(BlockOp.Extend, 0, 0);
                }

                return IsGpr(ins, 0) && IsPlainMemory(ins, 1) ? CallOut(BlockOp.ExtendLoad) : default;

            // LEA's memory operand has no size (it is never accessed): only its addressing must be plain.
            case Mnemonic.Lea:
                return IsGpr(ins, 0) && IsPlainAddress(ins, 1) ? new BlockShape(BlockOp.Lea, 0, 0) : default;

            case Mnemonic.Not:
                return IsGpr(ins, 0) ? new BlockShape(BlockOp.Unary, 0, 0) : default;
            case Mnemonic.Neg:
                return IsGpr(ins, 0) ? new BlockShape(BlockOp.Unary, 0, RFlags.Status) : default;

            case Mnemonic.Jmp:
                return IsNearBranch(ins) ? new BlockShape(BlockOp.Jmp, 0, 0) : default;

            case Mnemonic.Loop:
                return new BlockShape(BlockOp.Loop, 0, 0);
            case Mnemonic.Loope:
            case Mnemonic.Loopne:
                return new BlockShape(BlockOp.Loop, RFlags.ZF, 0);

            case Mnemonic.Jcxz:
            case Mnemonic.Jecxz:
            case Mnemonic.Jrcxz:
                return new BlockShape(BlockOp.JumpIfCounterZero, 0, 0);

            case Mnemonic.Push:
                return IsGpr(ins, 0) || IsImmediate(ins, 0) ? CallOut(BlockOp.Push) : default;

            case Mnemonic.Pop:
                return IsGpr(ins, 0) ? CallOut(BlockOp.Pop) : default;

            case Mnemonic.Call:
                return IsNearBranch(ins) ? CallOut(BlockOp.Call) : default;

            case Mnemonic.Ret:
                return CallOut(BlockOp.Ret);

            case Mnemonic.In:
                return CallOut(BlockOp.In);

            case Mnemonic.Out:
                return CallOut(BlockOp.Out);

            case Mnemonic.Nop:
            case Mnemonic.Pause:
                return new BlockShape(BlockOp.Nop, 0, 0);

            default:
                return ins.ConditionCode == ConditionCode.None ? default : ConditionalShape(ins);
        }
    }

    /// <summary>Group-1 ALU ops: register or immediate source into a register; or with one plain memory operand (a call-out).</summary>
    private static BlockShape AluShape(in Instruction ins)
    {
        ulong reads = ins.Mnemonic is Mnemonic.Adc or Mnemonic.Sbb ? RFlags.CF : 0;
        if (IsGpr(ins, 0) && (IsGpr(ins, 1) || IsImmediate(ins, 1)))
        {
            return new BlockShape(BlockOp.Alu, reads, RFlags.Status);
        }

        // Like every call-out it reads all the flags (they must be exact in the core before it).
        bool memory = (IsGpr(ins, 0) && IsPlainMemory(ins, 1)) || (IsPlainMemory(ins, 0) && (IsGpr(ins, 1) || IsImmediate(ins, 1)));
        return memory ? new BlockShape(BlockOp.AluMemory, RFlags.Status, RFlags.Status) : default;
    }

    /// <summary>Two/three-operand IMUL into a GPR from a GPR or plain memory (a call-out); one-operand MUL/IMUL stay with the interpreter.</summary>
    private static BlockShape MultiplyShape(in Instruction ins)
    {
        if (ins.OpCount < 2 || !IsGpr(ins, 0) || (ins.OpCount == 3 && !IsImmediate(ins, 2)))
        {
            return default;
        }

        if (IsGpr(ins, 1))
        {
            return new BlockShape(BlockOp.Multiply, 0, RFlags.Status);
        }

        return IsPlainMemory(ins, 1) ? new BlockShape(BlockOp.MultiplyLoad, RFlags.Status, RFlags.Status) : default;
    }

    /// <summary>
    /// Shifts and rotates of a GPR. By an immediate the count is known: one that masks to 0 changes no flags (only a
    /// 32-bit destination's upper half). By CL it is not, and a zero count leaves the flags as they were, so the shift
    /// also reads the flags it may write (they must be exact before it). Rotates by CL stay with the interpreter.
    /// </summary>
    private static BlockShape ShiftShape(in Instruction ins)
    {
        if (!IsGpr(ins, 0))
        {
            return default;
        }

        bool rotate = ins.Mnemonic is Mnemonic.Rol or Mnemonic.Ror;
        ulong written = rotate ? RFlags.CF | RFlags.OF : RFlags.Status;
        if (IsImmediate(ins, 1))
        {
            return new BlockShape(BlockOp.Shift, 0, ImmediateShiftCount(ins) == 0 ? 0 : written);
        }

        return !rotate && ins.Op1Kind == OpKind.Register && ins.Op1Register == Register.CL
            ? new BlockShape(BlockOp.Shift, written, written)
            : default;
    }

    /// <summary>A shift's immediate count masked as the CPU masks it (6 bits for a 64-bit operand, else 5).</summary>
    private static int ImmediateShiftCount(in Instruction ins) =>
        (int)(ins.GetImmediate(1) & (ins.Op0Register.GetSize() == 8 ? 0x3FUL : 0x1FUL));

    /// <summary>
    /// The other instructions with a condition code: SETcc of a byte register (one GPR operand) and CMOVcc (a GPR
    /// destination) from a register or plain memory. Jcc and LOOPcc are handled before; FCMOVcc takes x87 registers
    /// and CMPccXADD a memory destination, so neither matches.
    /// </summary>
    private static BlockShape ConditionalShape(in Instruction ins)
    {
        ulong reads = AluFlags.ConditionReads(ins.ConditionCode);
        if (ins.OpCount == 1 && IsGpr(ins, 0))
        {
            return new BlockShape(BlockOp.SetCondition, reads, 0);
        }

        if (ins.OpCount != 2 || !IsGpr(ins, 0))
        {
            return default;
        }

        if (IsGpr(ins, 1))
        {
            return new BlockShape(BlockOp.ConditionalMove, reads, 0);
        }

        return IsPlainMemory(ins, 1) ? CallOut(BlockOp.ConditionalMoveLoad) : default;
    }

    /// <summary>
    /// An instruction without its own translation that the block still covers by calling the interpreter for it:
    /// one that continues at the next instruction, or an indirect near JMP/CALL (which ends the block). Left out, so
    /// the block ends before them and the dispatcher runs them: whatever changes the code's mapping, mode or
    /// descriptor tables (control/debug/segment registers, LGDT…, INVLPG, WRMSR), HLT/MWAIT, far transfers,
    /// interrupts and returns.
    /// </summary>
    private static BlockShape InterpretedShape(in Instruction ins)
    {
        for (int op = 0; op < ins.OpCount; op++)
        {
            if (ins.GetOpKind(op) == OpKind.Register && ins.GetOpRegister(op) is var register
                && (register.IsSegmentRegister() || register.IsCR() || register.IsDR()))
            {
                return default;
            }
        }

        switch (ins.Mnemonic)
        {
            case Mnemonic.Hlt:
            case Mnemonic.Monitor:
            case Mnemonic.Mwait:
            case Mnemonic.Lgdt:
            case Mnemonic.Lidt:
            case Mnemonic.Lldt:
            case Mnemonic.Ltr:
            case Mnemonic.Lmsw:
            case Mnemonic.Clts:
            case Mnemonic.Invlpg:
            case Mnemonic.Invpcid:
            case Mnemonic.Wrmsr:
            case Mnemonic.Xsetbv:
            case Mnemonic.Rsm:
            case Mnemonic.Lds:
            case Mnemonic.Les:
            case Mnemonic.Lfs:
            case Mnemonic.Lgs:
            case Mnemonic.Lss:
                return default;
        }

        return ins.FlowControl switch
        {
            FlowControl.Next => CallOut(BlockOp.Interpret),
            FlowControl.IndirectBranch or FlowControl.IndirectCall when !ins.IsJmpFarIndirect && !ins.IsCallFarIndirect
                => CallOut(BlockOp.InterpretBranch),
            _ => default,
        };
    }

    /// <summary>An instruction that calls out of the block: the flags must be exact before it, so it "reads" them all.</summary>
    private static BlockShape CallOut(BlockOp op) => new(op, RFlags.Status, 0);

    private static bool IsGpr(in Instruction ins, int operand) =>
        ins.GetOpKind(operand) == OpKind.Register && ins.GetOpRegister(operand).IsGPR();

    private static bool IsImmediate(in Instruction ins, int operand) => ins.GetOpKind(operand) is OpKind.Immediate8
        or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate64 or OpKind.Immediate8to16
        or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64;

    private static bool IsNearBranch(in Instruction ins) =>
        ins.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64;

    /// <summary>A memory operand of 1, 2, 4 or 8 bytes with a plain address (<see cref="IsPlainAddress"/>).</summary>
    private static bool IsPlainMemory(in Instruction ins, int operand) =>
        IsPlainAddress(ins, operand) && ins.MemorySize.GetSize() is 1 or 2 or 4 or 8;

    /// <summary>A memory operand addressed by GPRs, a displacement, or RIP/EIP (no VSIB, no string forms).</summary>
    private static bool IsPlainAddress(in Instruction ins, int operand)
    {
        if (ins.GetOpKind(operand) != OpKind.Memory || ins.IsIPRelativeMemoryOperand && ins.MemoryIndex != Register.None)
        {
            return false;
        }

        var baseRegister = ins.MemoryBase;
        var index = ins.MemoryIndex;
        bool baseOk = baseRegister == Register.None || baseRegister == Register.RIP || baseRegister == Register.EIP || baseRegister.IsGPR();
        return baseOk && (index == Register.None || index.IsGPR());
    }
}
