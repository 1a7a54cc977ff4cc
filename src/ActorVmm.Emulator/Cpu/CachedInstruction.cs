using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>The shapes the interpreter runs without going through the general <see cref="Instruction"/> switch.</summary>
internal enum FastKind : byte
{
    /// <summary>Everything else: executed from the Iced instruction.</summary>
    Generic = 0,

    /// <summary>ALU op (Op: 0..7 group-1 order, 8 = TEST) register, register.</summary>
    AluRR,

    /// <summary>ALU op register, immediate (already masked).</summary>
    AluRI,

    /// <summary>INC register.</summary>
    IncR,

    /// <summary>DEC register.</summary>
    DecR,

    /// <summary>MOV register, register.</summary>
    MovRR,

    /// <summary>MOV register, immediate.</summary>
    MovRI,

    /// <summary>Jcc rel (Op = condition code).</summary>
    Jcc,

    /// <summary>JMP rel.</summary>
    Jmp,

    /// <summary>OUT to an immediate port (Imm) or DX (Op = 1) from AL/AX/EAX.</summary>
    Out,

    /// <summary>IN from an immediate port (Imm) or DX (Op = 1) into AL/AX/EAX.</summary>
    In,

    /// <summary>NOP/PAUSE.</summary>
    Nop,
}

/// <summary>One decoded instruction with a pre-digested form of the common register-only shapes.</summary>
internal struct CachedInstruction
{
    /// <summary>Which fast path runs it.</summary>
    public FastKind Kind;

    /// <summary>ALU operation, condition code or port source.</summary>
    public byte Op;

    /// <summary>Operand size in bytes.</summary>
    public byte Size;

    /// <summary>Destination GPR slot.</summary>
    public byte Dst;

    /// <summary>Source GPR slot.</summary>
    public byte Src;

    /// <summary>Destination is AH/CH/DH/BH.</summary>
    public bool DstHigh;

    /// <summary>Source is AH/CH/DH/BH.</summary>
    public bool SrcHigh;

    /// <summary>Instruction length.</summary>
    public byte Length;

    /// <summary>Immediate, port, or branch displacement relative to the instruction's own address.</summary>
    public ulong Imm;

    /// <summary>Mask applied to a branch target (operand-size wrap).</summary>
    public ulong BranchMask;

    /// <summary>The full instruction (always valid; used by the generic path and diagnostics).</summary>
    public Instruction Instruction;

    /// <summary>The translated block that starts at this instruction, once it has been translated.</summary>
    public TranslatedBlock? Block;

    /// <summary>Times the interpreter ran this instruction (the hotness that triggers translation).</summary>
    public ushort Hits;

    /// <summary>
    /// A block ends at or before it (a transfer, or an instruction blocks do not cover), so the instruction after it
    /// starts one: only such block heads count runs towards translation (set when decoded into a page).
    /// </summary>
    public bool EndsBlock;

    /// <summary>Its block is being compiled on the compiler thread.</summary>
    public bool Queued;

    /// <summary>Translation was tried here and produced nothing (the instruction itself is not translatable).</summary>
    public bool Untranslatable;

    /// <summary>Builds the cached form of <paramref name="instruction"/>.</summary>
    public static CachedInstruction From(in Instruction instruction)
    {
        var cached = new CachedInstruction { Instruction = instruction, Length = (byte)instruction.Length, Kind = FastKind.Generic };
        if (instruction.HasLockPrefix || instruction.HasRepPrefix || instruction.HasRepnePrefix)
        {
            return cached;
        }

        switch (instruction.Mnemonic)
        {
            case Mnemonic.Add:
            case Mnemonic.Or:
            case Mnemonic.Adc:
            case Mnemonic.Sbb:
            case Mnemonic.And:
            case Mnemonic.Sub:
            case Mnemonic.Xor:
            case Mnemonic.Cmp:
            case Mnemonic.Test:
            {
                if (!IsGpr(instruction.Op0Kind, instruction.Op0Register))
                {
                    return cached;
                }

                byte op = instruction.Mnemonic switch
                {
                    Mnemonic.Add => 0,
                    Mnemonic.Or => 1,
                    Mnemonic.Adc => 2,
                    Mnemonic.Sbb => 3,
                    Mnemonic.And => 4,
                    Mnemonic.Sub => 5,
                    Mnemonic.Xor => 6,
                    Mnemonic.Cmp => 7,
                    _ => 8,
                };
                SetDst(ref cached, instruction.Op0Register);
                cached.Op = op;
                if (IsGpr(instruction.Op1Kind, instruction.Op1Register))
                {
                    SetSrc(ref cached, instruction.Op1Register);
                    cached.Kind = FastKind.AluRR;
                }
                else if (IsImmediate(instruction.Op1Kind))
                {
                    cached.Imm = instruction.GetImmediate(1) & MaskOf(cached.Size);
                    cached.Kind = FastKind.AluRI;
                }

                return cached;
            }

            case Mnemonic.Inc:
            case Mnemonic.Dec:
                if (IsGpr(instruction.Op0Kind, instruction.Op0Register))
                {
                    SetDst(ref cached, instruction.Op0Register);
                    cached.Kind = instruction.Mnemonic == Mnemonic.Inc ? FastKind.IncR : FastKind.DecR;
                }

                return cached;

            case Mnemonic.Mov:
                if (IsGpr(instruction.Op0Kind, instruction.Op0Register))
                {
                    SetDst(ref cached, instruction.Op0Register);
                    if (IsGpr(instruction.Op1Kind, instruction.Op1Register))
                    {
                        SetSrc(ref cached, instruction.Op1Register);
                        cached.Kind = FastKind.MovRR;
                    }
                    else if (IsImmediate(instruction.Op1Kind))
                    {
                        cached.Imm = instruction.GetImmediate(1) & MaskOf(cached.Size);
                        cached.Kind = FastKind.MovRI;
                    }
                }

                return cached;

            case Mnemonic.Jmp:
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
            {
                ulong mask = instruction.Op0Kind switch
                {
                    OpKind.NearBranch16 => 0xFFFF,
                    OpKind.NearBranch32 => 0xFFFF_FFFF,
                    OpKind.NearBranch64 => ulong.MaxValue,
                    _ => 0,
                };
                if (mask == 0)
                {
                    return cached;
                }

                cached.Imm = instruction.NearBranch64 - instruction.IP;
                cached.BranchMask = mask;
                cached.Op = (byte)instruction.ConditionCode;
                cached.Kind = instruction.Mnemonic == Mnemonic.Jmp ? FastKind.Jmp : FastKind.Jcc;
                return cached;
            }

            case Mnemonic.Out:
                cached.Size = (byte)instruction.Op1Register.GetSize();
                cached.Op = instruction.Op0Kind == OpKind.Register ? (byte)1 : (byte)0;
                cached.Imm = instruction.Op0Kind == OpKind.Register ? 0UL : instruction.Immediate8;
                cached.Kind = FastKind.Out;
                return cached;

            case Mnemonic.In:
                cached.Size = (byte)instruction.Op0Register.GetSize();
                cached.Op = instruction.Op1Kind == OpKind.Register ? (byte)1 : (byte)0;
                cached.Imm = instruction.Op1Kind == OpKind.Register ? 0UL : instruction.Immediate8;
                cached.Kind = FastKind.In;
                return cached;

            case Mnemonic.Nop:
            case Mnemonic.Pause:
                cached.Kind = FastKind.Nop;
                return cached;

            default:
                return cached;
        }
    }

    private static bool IsGpr(OpKind kind, Register register) => kind == OpKind.Register && register.IsGPR();

    private static bool IsImmediate(OpKind kind) => kind is OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32
        or OpKind.Immediate64 or OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64;

    private static ulong MaskOf(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    private static void SetDst(ref CachedInstruction cached, Register register)
    {
        cached.Dst = RegisterTable.Index[(int)register];
        cached.Size = RegisterTable.Size[(int)register];
        cached.DstHigh = RegisterTable.High8[(int)register];
    }

    private static void SetSrc(ref CachedInstruction cached, Register register)
    {
        cached.Src = RegisterTable.Index[(int)register];
        cached.SrcHigh = RegisterTable.High8[(int)register];
    }
}
