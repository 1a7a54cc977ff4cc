using System.Numerics;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>The interpreter: one switch over Iced's mnemonic. <see cref="Rip"/> already points past the instruction.</summary>
internal sealed partial class X86Core
{
    private void Execute(ref Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Nop:
            case Mnemonic.Pause:
            case Mnemonic.Lfence:
            case Mnemonic.Sfence:
            case Mnemonic.Mfence:
            case Mnemonic.Prefetchnta:
            case Mnemonic.Prefetcht0:
            case Mnemonic.Prefetcht1:
            case Mnemonic.Prefetcht2:
            // Without CET (not advertised) ENDBR32/64 are the reserved hint NOPs they were encoded in.
            case Mnemonic.Endbr32:
            case Mnemonic.Endbr64:
                return;

            case Mnemonic.Mov:
                ExecuteMov(ref ins);
                return;

            case Mnemonic.Add:
            case Mnemonic.Or:
            case Mnemonic.Adc:
            case Mnemonic.Sbb:
            case Mnemonic.And:
            case Mnemonic.Sub:
            case Mnemonic.Xor:
            {
                int size = Op0Size(ins);
                ulong src = ReadOp1(ins, size);
                int op = AluOpOf(ins.Mnemonic);
                if (ins.Op0Kind == OpKind.Register)
                {
                    var reg = ins.Op0Register;
                    WriteReg(reg, Arith(op, ReadReg(reg), src, size));
                }
                else
                {
                    ulong linear = MemoryLinear(ins);
                    if (ins.HasLockPrefix)
                    {
                        ulong old;
                        ulong result;
                        do
                        {
                            old = ReadLinear(linear, size);
                            result = Arith(op, old, src, size);
                        }
                        while (!CompareExchangeLinear(linear, size, old, result));
                    }
                    else
                    {
                        WriteLinear(linear, size, Arith(op, ReadLinear(linear, size), src, size));
                    }
                }

                return;
            }

            case Mnemonic.Cmp:
            {
                int size = Op0Size(ins);
                ulong src = ReadOp1(ins, size);
                Arith(OpCmp, ReadOperand(ins, 0, size), src, size);
                return;
            }

            case Mnemonic.Test:
            {
                int size = Op0Size(ins);
                ulong src = ReadOp1(ins, size);
                Arith(OpAnd, ReadOperand(ins, 0, size), src, size);
                return;
            }

            case Mnemonic.Inc:
            case Mnemonic.Dec:
            {
                bool increment = ins.Mnemonic == Mnemonic.Inc;
                int size = Op0Size(ins);
                if (ins.Op0Kind == OpKind.Register)
                {
                    var reg = ins.Op0Register;
                    WriteReg(reg, IncDec(ReadReg(reg), size, increment));
                }
                else
                {
                    ulong linear = MemoryLinear(ins);
                    ulong old;
                    ulong result;
                    do
                    {
                        old = ReadLinear(linear, size);
                        result = IncDec(old, size, increment);
                    }
                    while (!StoreRmw(ins, linear, size, old, result));
                }

                return;
            }

            case Mnemonic.Neg:
            case Mnemonic.Not:
            {
                int size = Op0Size(ins);
                bool neg = ins.Mnemonic == Mnemonic.Neg;
                ulong linear = ins.Op0Kind == OpKind.Memory ? MemoryLinear(ins) : 0;
                ulong old;
                ulong result;
                do
                {
                    old = ins.Op0Kind == OpKind.Register ? ReadReg(ins.Op0Register) : ReadLinear(linear, size);
                    result = neg ? Arith(OpSub, 0, old, size) : ~old & SizeMask[size];
                    if (ins.Op0Kind == OpKind.Register)
                    {
                        WriteReg(ins.Op0Register, result);
                        break;
                    }
                }
                while (!StoreRmw(ins, linear, size, old, result));
                return;
            }

            case Mnemonic.Jmp:
                ExecuteJump(ref ins, call: false);
                return;
            case Mnemonic.Call:
                ExecuteJump(ref ins, call: true);
                return;

            case Mnemonic.Jo:
            case Mnemonic.Jno:
            case Mnemonic.Jb:
            case Mnemonic.Jae:
            case Mnemonic.Je:
            case Mnemonic.Jne:
            case Mnemonic.Jbe:
            case Mnemonic.Ja:
            case Mnemonic.Js:
            case Mnemonic.Jns:
            case Mnemonic.Jp:
            case Mnemonic.Jnp:
            case Mnemonic.Jl:
            case Mnemonic.Jge:
            case Mnemonic.Jle:
            case Mnemonic.Jg:
                if (Condition(ins.ConditionCode))
                {
                    Rip = BranchTarget(ins);
                }

                return;

            case Mnemonic.Jcxz:
            case Mnemonic.Jecxz:
            case Mnemonic.Jrcxz:
            {
                int size = ins.Mnemonic == Mnemonic.Jcxz ? 2 : ins.Mnemonic == Mnemonic.Jecxz ? 4 : 8;
                if (ReadGprSized(RCX, size) == 0)
                {
                    Rip = BranchTarget(ins);
                }

                return;
            }

            case Mnemonic.Loop:
            case Mnemonic.Loope:
            case Mnemonic.Loopne:
            {
                int size = LoopCounterSize(ins.Code);
                ulong count = (ReadGprSized(RCX, size) - 1) & SizeMask[size];
                WriteGpr(RCX, size, count);
                bool zf = (Flags & RFlags.ZF) != 0;
                bool taken = count != 0 && (ins.Mnemonic == Mnemonic.Loop || (ins.Mnemonic == Mnemonic.Loope ? zf : !zf));
                if (taken)
                {
                    Rip = BranchTarget(ins);
                }

                return;
            }

            case Mnemonic.Ret:
            {
                int size = ins.Op0Kind == OpKind.Immediate16
                    ? ins.StackPointerIncrement - ins.Immediate16
                    : ins.StackPointerIncrement;
                ulong target = Pop(size);
                if (ins.Op0Kind == OpKind.Immediate16)
                {
                    AdjustStack(ins.Immediate16);
                }

                Rip = target & _ipMask;
                return;
            }

            case Mnemonic.Retf when (Cr0 & Cr0PE) != 0:
            {
                int release = ins.Op0Kind == OpKind.Immediate16 ? ins.Immediate16 : 0;
                ExecuteFarReturn((ins.StackPointerIncrement - release) / 2, (ushort)release);
                return;
            }

            case Mnemonic.Retf:
            {
                int size = (ins.Op0Kind == OpKind.Immediate16 ? ins.StackPointerIncrement - ins.Immediate16 : ins.StackPointerIncrement) / 2;
                ulong target = Pop(size);
                ushort selector = (ushort)Pop(size);
                LoadSegment(CS, selector);
                if (ins.Op0Kind == OpKind.Immediate16)
                {
                    AdjustStack(ins.Immediate16);
                }

                Rip = target & SizeMask[size];
                return;
            }

            case Mnemonic.Push:
            {
                int size = -ins.StackPointerIncrement;
                ulong value = ins.Op0Kind switch
                {
                    OpKind.Register => ins.Op0Register.IsSegmentRegister()
                        ? Seg[(int)(ins.Op0Register - Register.ES)].Selector
                        : ReadReg(ins.Op0Register),
                    OpKind.Memory => ReadLinear(MemoryLinear(ins), size),
                    _ => ins.GetImmediate(0) & SizeMask[size],
                };
                Push(value, size);
                return;
            }

            case Mnemonic.Pop:
            {
                int size = ins.StackPointerIncrement;
                ulong value = Pop(size);
                if (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsSegmentRegister())
                {
                    LoadSegment((int)(ins.Op0Register - Register.ES), (ushort)value);
                    if (ins.Op0Register == Register.SS)
                    {
                        // POP SS blocks interrupts for one instruction.
                        _budget = Math.Min(_budget, 1);
                    }
                }
                else if (ins.Op0Kind == OpKind.Register)
                {
                    WriteReg(ins.Op0Register, value);
                }
                else
                {
                    // The address uses RSP after the pop (SDM: POP m with RSP as base).
                    WriteLinear(MemoryLinear(ins), size, value);
                }

                return;
            }

            case Mnemonic.Pusha:
            case Mnemonic.Pushad:
            {
                int size = ins.Mnemonic == Mnemonic.Pusha ? 2 : 4;
                ulong sp = ReadGprSized(RSP, size);
                for (int r = RAX; r <= RDI; r++)
                {
                    Push(r == RSP ? sp : ReadGprSized(r, size), size);
                }

                return;
            }

            case Mnemonic.Popa:
            case Mnemonic.Popad:
            {
                int size = ins.Mnemonic == Mnemonic.Popa ? 2 : 4;
                for (int r = RDI; r >= RAX; r--)
                {
                    ulong value = Pop(size);
                    if (r != RSP)
                    {
                        WriteGpr(r, size, value);
                    }
                }

                return;
            }

            case Mnemonic.Pushf:
            case Mnemonic.Pushfd:
            case Mnemonic.Pushfq:
            {
                int size = -ins.StackPointerIncrement;
                Push(Flags & ~(RFlags.RF | (1UL << 17)) & SizeMask[size], size);
                return;
            }

            case Mnemonic.Popf:
            case Mnemonic.Popfd:
            case Mnemonic.Popfq:
            {
                int size = ins.StackPointerIncrement;
                ulong value = Pop(size);
                ulong writable = FlagsWritableByPop() & SizeMask[size];
                Flags = (Flags & ~writable) | (value & writable) | RFlags.Reserved1;
                _budget = 0;
                return;
            }

            case Mnemonic.Lea:
                WriteReg(ins.Op0Register, EffectiveOffset(ins));
                return;

            case Mnemonic.Movzx:
            {
                int srcSize = OperandSize(ins, 1);
                WriteReg(ins.Op0Register, ReadOp1(ins, srcSize));
                return;
            }

            case Mnemonic.Movsx:
            case Mnemonic.Movsxd:
            {
                int srcSize = OperandSize(ins, 1);
                WriteReg(ins.Op0Register, (ulong)SignExtend(ReadOp1(ins, srcSize), srcSize));
                return;
            }

            case Mnemonic.Xchg:
            {
                int size = Op0Size(ins);
                if (ins.Op0Kind == OpKind.Register && ins.Op1Kind == OpKind.Register)
                {
                    ulong a = ReadReg(ins.Op0Register);
                    WriteReg(ins.Op0Register, ReadReg(ins.Op1Register));
                    WriteReg(ins.Op1Register, a);
                    return;
                }

                // XCHG with memory is always locked.
                var reg = ins.Op0Kind == OpKind.Register ? ins.Op0Register : ins.Op1Register;
                ulong linear = MemoryLinear(ins);
                ulong value = ReadReg(reg);
                ulong old;
                do
                {
                    old = ReadLinear(linear, size);
                }
                while (!CompareExchangeLinear(linear, size, old, value));
                WriteReg(reg, old);
                return;
            }

            case Mnemonic.Xadd:
            {
                int size = Op0Size(ins);
                ulong src = ReadReg(ins.Op1Register);
                if (ins.Op0Kind == OpKind.Register)
                {
                    ulong dst = ReadReg(ins.Op0Register);
                    ulong sum = Arith(OpAdd, dst, src, size);
                    WriteReg(ins.Op1Register, dst);
                    WriteReg(ins.Op0Register, sum);
                    return;
                }

                ulong linear = MemoryLinear(ins);
                ulong old;
                ulong result;
                do
                {
                    old = ReadLinear(linear, size);
                    result = Arith(OpAdd, old, src, size);
                }
                while (!StoreRmw(ins, linear, size, old, result));
                WriteReg(ins.Op1Register, old);
                return;
            }

            case Mnemonic.Cmpxchg:
            {
                int size = Op0Size(ins);
                ulong accumulator = ReadGprSized(RAX, size);
                ulong src = ReadReg(ins.Op1Register);
                if (ins.Op0Kind == OpKind.Register)
                {
                    ulong dst = ReadReg(ins.Op0Register);
                    Arith(OpCmp, accumulator, dst, size);
                    if (dst == accumulator)
                    {
                        WriteReg(ins.Op0Register, src);
                    }
                    else
                    {
                        WriteGpr(RAX, size, dst);
                    }

                    return;
                }

                ulong linear = MemoryLinear(ins);
                while (true)
                {
                    ulong current = ReadLinear(linear, size);
                    Arith(OpCmp, accumulator, current, size);
                    if (current != accumulator)
                    {
                        // A failed compare still writes the old value back (SDM), which is a no-op on RAM.
                        WriteGpr(RAX, size, current);
                        return;
                    }

                    if (StoreRmw(ins, linear, size, current, src))
                    {
                        return;
                    }
                }
            }

            case Mnemonic.Cmpxchg8b:
                ExecuteCmpxchg8b(ref ins);
                return;
            case Mnemonic.Cmpxchg16b:
                ExecuteCmpxchg16b(ref ins);
                return;

            case Mnemonic.Shl:
            case Mnemonic.Sal:
            case Mnemonic.Shr:
            case Mnemonic.Sar:
            case Mnemonic.Rol:
            case Mnemonic.Ror:
            case Mnemonic.Rcl:
            case Mnemonic.Rcr:
            {
                int size = Op0Size(ins);
                int count = (int)(ReadOp1(ins, 1) & (size == 8 ? 0x3FUL : 0x1FUL));
                if (ins.Op0Kind == OpKind.Register)
                {
                    var reg = ins.Op0Register;
                    WriteReg(reg, ShiftRotate(ins.Mnemonic, ReadReg(reg), count, size));
                }
                else
                {
                    ulong linear = MemoryLinear(ins);
                    WriteLinear(linear, size, ShiftRotate(ins.Mnemonic, ReadLinear(linear, size), count, size));
                }

                return;
            }

            case Mnemonic.Shld:
            case Mnemonic.Shrd:
            {
                int size = Op0Size(ins);
                int count = (int)(ReadOperand(ins, 2, 1) & (size == 8 ? 0x3FUL : 0x1FUL));
                ulong b = ReadReg(ins.Op1Register);
                ulong a = ReadOperand(ins, 0, size);
                WriteOp0(ins, size, DoubleShift(ins.Mnemonic == Mnemonic.Shld, a, b, count, size));
                return;
            }

            case Mnemonic.Mul:
            case Mnemonic.Imul when ins.OpCount == 1:
            {
                int size = Op0Size(ins);
                MultiplyAccumulator(ins.Mnemonic == Mnemonic.Imul, ReadOperand(ins, 0, size), size);
                return;
            }

            case Mnemonic.Imul:
            {
                int size = Op0Size(ins);
                ulong a = ins.OpCount == 3 ? ReadOp1(ins, size) : ReadReg(ins.Op0Register);
                ulong b = ins.OpCount == 3 ? ins.GetImmediate(2) & SizeMask[size] : ReadOp1(ins, size);
                WriteReg(ins.Op0Register, MultiplyTruncating(a, b, size));
                return;
            }

            case Mnemonic.Div:
            case Mnemonic.Idiv:
            {
                int size = Op0Size(ins);
                Divide(ins.Mnemonic == Mnemonic.Idiv, ReadOperand(ins, 0, size), size);
                return;
            }

            case Mnemonic.Cbw:
                WriteGpr(RAX, 2, (ulong)(sbyte)Gpr[RAX]);
                return;
            case Mnemonic.Cwde:
                WriteGpr(RAX, 4, (ulong)(short)Gpr[RAX]);
                return;
            case Mnemonic.Cdqe:
                Gpr[RAX] = (ulong)(int)Gpr[RAX];
                return;
            case Mnemonic.Cwd:
                WriteGpr(RDX, 2, (Gpr[RAX] & 0x8000) != 0 ? 0xFFFFUL : 0);
                return;
            case Mnemonic.Cdq:
                WriteGpr(RDX, 4, (Gpr[RAX] & 0x8000_0000) != 0 ? 0xFFFF_FFFFUL : 0);
                return;
            case Mnemonic.Cqo:
                Gpr[RDX] = (long)Gpr[RAX] < 0 ? ulong.MaxValue : 0;
                return;

            case Mnemonic.Lahf:
                WriteReg(Register.AH, (Flags & 0xD5) | RFlags.Reserved1);
                return;
            case Mnemonic.Sahf:
                Flags = (Flags & ~0xD5UL) | ((Gpr[RAX] >> 8) & 0xD5);
                return;

            case Mnemonic.Bswap:
            {
                int size = RegisterTable.Size[(int)ins.Op0Register];
                ulong v = ReadReg(ins.Op0Register);
                WriteReg(ins.Op0Register, size == 8 ? BinaryPrimitivesReverse(v) : BinaryPrimitivesReverse((uint)v) >> 32);
                return;
            }

            case Mnemonic.Xlatb:
            {
                // Iced describes XLAT as [rBX + AL]; the base register's size is the address size.
                ulong offset = (Gpr[RBX] + (byte)Gpr[RAX]) & SizeMask[RegisterTable.Size[(int)ins.MemoryBase]];
                WriteGpr(RAX, 1, ReadLinear(SegmentBase(ins.MemorySegment) + offset, 1));
                return;
            }

            case Mnemonic.Bt:
            case Mnemonic.Bts:
            case Mnemonic.Btr:
            case Mnemonic.Btc:
                ExecuteBitTest(ref ins);
                return;

            // Without BMI1/LZCNT (not advertised) the F3 prefix is ignored: TZCNT is BSF and LZCNT is BSR, as on
            // the CPUs Linux's "rep; bsf" (tzcnt) idiom was written for.
            case Mnemonic.Bsf:
            case Mnemonic.Bsr:
            case Mnemonic.Tzcnt:
            case Mnemonic.Lzcnt:
            {
                int size = Op0Size(ins);
                ulong src = ReadOp1(ins, size);
                if (src == 0)
                {
                    Flags |= RFlags.ZF;
                    return;
                }

                Flags &= ~RFlags.ZF;
                int index = ins.Mnemonic is Mnemonic.Bsf or Mnemonic.Tzcnt ? BitOperations.TrailingZeroCount(src) : 63 - BitOperations.LeadingZeroCount(src);
                WriteReg(ins.Op0Register, (ulong)index);
                return;
            }

            case Mnemonic.Seto:
            case Mnemonic.Setno:
            case Mnemonic.Setb:
            case Mnemonic.Setae:
            case Mnemonic.Sete:
            case Mnemonic.Setne:
            case Mnemonic.Setbe:
            case Mnemonic.Seta:
            case Mnemonic.Sets:
            case Mnemonic.Setns:
            case Mnemonic.Setp:
            case Mnemonic.Setnp:
            case Mnemonic.Setl:
            case Mnemonic.Setge:
            case Mnemonic.Setle:
            case Mnemonic.Setg:
                WriteOp0(ins, 1, Condition(ins.ConditionCode) ? 1UL : 0);
                return;

            case Mnemonic.Cmovo:
            case Mnemonic.Cmovno:
            case Mnemonic.Cmovb:
            case Mnemonic.Cmovae:
            case Mnemonic.Cmove:
            case Mnemonic.Cmovne:
            case Mnemonic.Cmovbe:
            case Mnemonic.Cmova:
            case Mnemonic.Cmovs:
            case Mnemonic.Cmovns:
            case Mnemonic.Cmovp:
            case Mnemonic.Cmovnp:
            case Mnemonic.Cmovl:
            case Mnemonic.Cmovge:
            case Mnemonic.Cmovle:
            case Mnemonic.Cmovg:
            {
                int size = Op0Size(ins);
                ulong src = ReadOp1(ins, size);
                // A 32-bit CMOV zero-extends its destination even when the condition is false.
                WriteReg(ins.Op0Register, Condition(ins.ConditionCode) ? src : ReadReg(ins.Op0Register));
                return;
            }

            case Mnemonic.Clc:
                Flags &= ~RFlags.CF;
                return;
            case Mnemonic.Stc:
                Flags |= RFlags.CF;
                return;
            case Mnemonic.Cmc:
                Flags ^= RFlags.CF;
                return;
            case Mnemonic.Cld:
                Flags &= ~RFlags.DF;
                return;
            case Mnemonic.Std:
                Flags |= RFlags.DF;
                return;
            case Mnemonic.Cli:
                CheckInterruptFlagAccess();
                Flags &= ~RFlags.IF;
                return;
            case Mnemonic.Sti:
                CheckInterruptFlagAccess();
                if ((Flags & RFlags.IF) == 0)
                {
                    Flags |= RFlags.IF;
                    // STI delays interrupts by one instruction: end the batch after the next one.
                    _budget = Math.Min(_budget, 1);
                }

                return;

            case Mnemonic.Enter:
                ExecuteEnter(ref ins);
                return;
            case Mnemonic.Leave:
            {
                int popSize = ins.Code == Code.Leavew ? 2 : ins.Code == Code.Leaved ? 4 : 8;
                Gpr[RSP] = (Gpr[RSP] & ~_spMask) | (Gpr[RBP] & _spMask);
                WriteGpr(RBP, popSize, Pop(popSize));
                return;
            }

            case Mnemonic.In:
            {
                int size = RegisterTable.Size[(int)ins.Op0Register];
                ushort port = ins.Op1Kind == OpKind.Register ? (ushort)Gpr[RDX] : ins.Immediate8;
                CheckIoPermission(port, size);
                WriteGpr(RAX, size, PortRead(port, size));
                return;
            }

            case Mnemonic.Out:
            {
                int size = RegisterTable.Size[(int)ins.Op1Register];
                ushort port = ins.Op0Kind == OpKind.Register ? (ushort)Gpr[RDX] : ins.Immediate8;
                CheckIoPermission(port, size);
                PortWrite(port, size, Gpr[RAX] & SizeMask[size]);
                return;
            }

            case Mnemonic.Hlt:
                RequireCpl0();
                Halt();
                return;

            case Mnemonic.Int:
                DeliverInterrupt(ins.Immediate8, errorCode: null, software: true);
                _budget = 0;
                return;
            case Mnemonic.Int3:
                DeliverInterrupt(ExceptionVector.BP, errorCode: null, software: true);
                _budget = 0;
                return;
            case Mnemonic.Into:
                if ((Flags & RFlags.OF) != 0)
                {
                    DeliverInterrupt(ExceptionVector.OF, errorCode: null, software: true);
                    _budget = 0;
                }

                return;

            case Mnemonic.Iret:
            case Mnemonic.Iretd:
            case Mnemonic.Iretq:
                ExecuteIret(ins.Mnemonic == Mnemonic.Iret ? 2 : ins.Mnemonic == Mnemonic.Iretd ? 4 : 8);
                _budget = 0;
                return;

            case Mnemonic.Wbinvd:
            case Mnemonic.Invd:
                // No caches to write back or drop, but still privileged.
                RequireCpl0();
                return;

            case Mnemonic.Ud0:
            case Mnemonic.Ud1:
            case Mnemonic.Ud2:
            case Mnemonic.INVALID:
                throw new GuestFault(ExceptionVector.UD);

            default:
                if (TryExecuteString(ref ins) || TryExecuteSystem(ref ins) || TryExecuteFpu(ref ins) || TryExecuteX87(ref ins) || TryExecuteSseFloat(ref ins) || TryExecuteSseInteger(ref ins))
                {
                    return;
                }

                throw new EmulationException($"Unsupported instruction '{ins}' ({ins.Code})");
        }
    }

    private static ulong BinaryPrimitivesReverse(ulong value) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value);

    /// <summary>The counter LOOP/LOOPE/LOOPNE decrement: CX, ECX or RCX, chosen by the address size.</summary>
    private static int LoopCounterSize(Code code) => code switch
    {
        Code.Loop_rel8_16_CX or Code.Loop_rel8_32_CX or Code.Loope_rel8_16_CX or Code.Loope_rel8_32_CX
            or Code.Loopne_rel8_16_CX or Code.Loopne_rel8_32_CX => 2,
        Code.Loop_rel8_16_RCX or Code.Loop_rel8_64_RCX or Code.Loope_rel8_16_RCX or Code.Loope_rel8_64_RCX
            or Code.Loopne_rel8_16_RCX or Code.Loopne_rel8_64_RCX => 8,
        _ => 4,
    };

    /// <summary>Stores a read-modify-write result: atomically under LOCK, plainly otherwise.</summary>
    /// <summary>CMPXCHG8B m64: EDX:EAX against memory; equal stores ECX:EBX and sets ZF, else loads EDX:EAX (atomic with LOCK).</summary>
    private void ExecuteCmpxchg8b(ref Instruction ins)
    {
        ulong linear = MemoryLinear(ins);
        ulong expected = ((Gpr[RDX] & 0xFFFF_FFFF) << 32) | (Gpr[RAX] & 0xFFFF_FFFF);
        ulong replacement = ((Gpr[RCX] & 0xFFFF_FFFF) << 32) | (Gpr[RBX] & 0xFFFF_FFFF);
        while (true)
        {
            ulong current = ReadLinear(linear, 8);
            if (current != expected)
            {
                Flags &= ~RFlags.ZF;
                WriteGpr(RAX, 4, current);
                WriteGpr(RDX, 4, current >> 32);
                return;
            }

            if (StoreRmw(ins, linear, 8, current, replacement))
            {
                Flags |= RFlags.ZF;
                return;
            }
        }
    }

    private bool StoreRmw(in Instruction ins, ulong linear, int size, ulong old, ulong result)
    {
        if (ins.HasLockPrefix)
        {
            return CompareExchangeLinear(linear, size, old, result);
        }

        WriteLinear(linear, size, result);
        return true;
    }

    private void AdjustStack(ulong bytes)
    {
        ulong sp = (Gpr[RSP] + bytes) & _spMask;
        Gpr[RSP] = (Gpr[RSP] & ~_spMask) | sp;
    }

    private ulong BranchTarget(in Instruction ins)
    {
        ulong target = _instrStart + (ins.NearBranch64 - ins.IP);
        return ins.Op0Kind switch
        {
            OpKind.NearBranch16 => target & 0xFFFF,
            OpKind.NearBranch32 => target & 0xFFFF_FFFF,
            _ => target,
        };
    }

    private void ExecuteMov(ref Instruction ins)
    {
        if (ins.Op0Kind == OpKind.Register)
        {
            var dst = ins.Op0Register;
            if (dst.IsGPR())
            {
                int size = RegisterTable.Size[(int)dst];
                ulong value = ins.Op1Kind switch
                {
                    OpKind.Register => ins.Op1Register.IsGPR()
                        ? ReadReg(ins.Op1Register)
                        : ins.Op1Register.IsSegmentRegister()
                            ? Seg[(int)(ins.Op1Register - Register.ES)].Selector
                            : ReadControlRegister(ins.Op1Register),
                    OpKind.Memory => ReadLinear(MemoryLinear(ins), size),
                    _ => ins.GetImmediate(1),
                };
                WriteReg(dst, value);
                return;
            }

            if (dst.IsSegmentRegister())
            {
                ushort selector = (ushort)ReadOp1(ins, 2);
                LoadSegment((int)(dst - Register.ES), selector);
                if (dst == Register.SS)
                {
                    // MOV SS blocks interrupts for one instruction.
                    _budget = Math.Min(_budget, 1);
                }

                return;
            }

            WriteControlRegister(dst, ReadReg(ins.Op1Register));
            return;
        }

        int memSize = ins.MemorySize.GetSize();
        ulong source = ins.Op1Kind switch
        {
            OpKind.Register => ins.Op1Register.IsSegmentRegister()
                ? Seg[(int)(ins.Op1Register - Register.ES)].Selector
                : ReadReg(ins.Op1Register),
            _ => ins.GetImmediate(1),
        };
        WriteLinear(MemoryLinear(ins), memSize, source & SizeMask[memSize]);
    }

    private void ExecuteJump(ref Instruction ins, bool call)
    {
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch16:
            case OpKind.NearBranch32:
            case OpKind.NearBranch64:
            {
                ulong target = BranchTarget(ins);
                if (call)
                {
                    Push(Rip, -ins.StackPointerIncrement);
                }

                Rip = target;
                return;
            }

            case OpKind.FarBranch16:
            case OpKind.FarBranch32:
            {
                ulong offset = ins.Op0Kind == OpKind.FarBranch16 ? ins.FarBranch16 : ins.FarBranch32;
                FarTransfer(ins.FarBranchSelector, offset, call, ins.Op0Kind == OpKind.FarBranch16 ? 2 : 4);
                return;
            }

            case OpKind.Register:
            case OpKind.Memory:
                break;
            default:
                throw new EmulationException($"Unsupported branch form '{ins}'");
        }

        var memorySize = ins.MemorySize;
        if (ins.Op0Kind == OpKind.Memory && memorySize is MemorySize.SegPtr16 or MemorySize.SegPtr32 or MemorySize.SegPtr64)
        {
            int offsetSize = memorySize == MemorySize.SegPtr16 ? 2 : memorySize == MemorySize.SegPtr32 ? 4 : 8;
            ulong linear = MemoryLinear(ins);
            ulong offset = ReadLinear(linear, offsetSize);
            ushort selector = (ushort)ReadLinear(linear + (ulong)offsetSize, 2);
            FarTransfer(selector, offset, call, offsetSize);
            return;
        }

        int size = OperandSize(ins, 0);
        ulong destination = ReadOperand(ins, 0, size);
        if (call)
        {
            Push(Rip, size);
        }

        Rip = destination & SizeMask[size];
    }

    private void FarTransfer(ushort selector, ulong offset, bool call, int size)
    {
        if ((Cr0 & Cr0PE) != 0)
        {
            // Checked before anything is pushed, so a refused transfer leaves the stack as it was.
            selector = CheckFarCodeSegment(selector);
        }

        if (call)
        {
            Push(Seg[CS].Selector, size);
            Push(Rip, size);
        }

        LoadSegment(CS, selector);
        Rip = offset & SizeMask[size];
    }

    private void ExecuteBitTest(ref Instruction ins)
    {
        int size = Op0Size(ins);
        int bits = size * 8;
        ulong bitOffset = ReadOp1(ins, ins.Op1Kind == OpKind.Register ? size : 1);
        ulong value;
        ulong linear = 0;
        int bit;
        if (ins.Op0Kind == OpKind.Register)
        {
            bit = (int)(bitOffset & (ulong)(bits - 1));
            value = ReadReg(ins.Op0Register);
        }
        else
        {
            linear = MemoryLinear(ins);
            if (ins.Op1Kind == OpKind.Register)
            {
                // A register bit offset addresses memory beyond the operand (signed, in operand-size units).
                long signedOffset = SignExtend(bitOffset, size);
                linear += (ulong)((signedOffset >> BitOperations.Log2((uint)bits)) * size);
                bit = (int)(signedOffset & (bits - 1));
            }
            else
            {
                bit = (int)(bitOffset & (ulong)(bits - 1));
            }

            value = ReadLinear(linear, size);
        }

        bool set = ((value >> bit) & 1) != 0;
        Flags = set ? Flags | RFlags.CF : Flags & ~RFlags.CF;
        ulong result = ins.Mnemonic switch
        {
            Mnemonic.Bts => value | (1UL << bit),
            Mnemonic.Btr => value & ~(1UL << bit),
            Mnemonic.Btc => value ^ (1UL << bit),
            _ => value,
        };
        if (ins.Mnemonic == Mnemonic.Bt)
        {
            return;
        }

        if (ins.Op0Kind == OpKind.Register)
        {
            WriteReg(ins.Op0Register, result);
            return;
        }

        while (!StoreRmw(ins, linear, size, value, result))
        {
            value = ReadLinear(linear, size);
            set = ((value >> bit) & 1) != 0;
            Flags = set ? Flags | RFlags.CF : Flags & ~RFlags.CF;
            result = ins.Mnemonic switch
            {
                Mnemonic.Bts => value | (1UL << bit),
                Mnemonic.Btr => value & ~(1UL << bit),
                _ => value ^ (1UL << bit),
            };
        }
    }

    private void ExecuteEnter(ref Instruction ins)
    {
        int size = ins.Code == Code.Enterw_imm16_imm8 ? 2 : ins.Code == Code.Enterd_imm16_imm8 ? 4 : 8;
        ulong allocation = ins.Immediate16;
        int level = ins.Immediate8_2nd & 31;
        int bpSize = _spMask == ulong.MaxValue ? 8 : _spMask == 0xFFFF_FFFF ? 4 : 2;
        Push(ReadGprSized(RBP, size), size);
        ulong frame = Gpr[RSP] & _spMask;
        for (int i = 1; i < level; i++)
        {
            ulong bp = (ReadGprSized(RBP, bpSize) - (ulong)(i * size)) & _spMask;
            Push(ReadLinear(StackLinear(bp), size), size);
        }

        if (level > 0)
        {
            Push(frame, size);
        }

        WriteGpr(RBP, size, frame);
        ulong sp = ((Gpr[RSP] & _spMask) - allocation) & _spMask;
        Gpr[RSP] = (Gpr[RSP] & ~_spMask) | sp;
    }
}
