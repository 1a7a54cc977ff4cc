using System.Runtime.CompilerServices;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Register, memory-operand and stack access.</summary>
internal sealed partial class X86Core
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadReg(Register register)
    {
        int r = (int)register;
        ulong full = Gpr[RegisterTable.Index[r] & 15];
        return RegisterTable.Size[r] switch
        {
            8 => full,
            4 => (uint)full,
            2 => (ushort)full,
            _ => RegisterTable.High8[r] ? (byte)(full >> 8) : (byte)full,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteReg(Register register, ulong value)
    {
        int r = (int)register;
        ref ulong slot = ref Gpr[RegisterTable.Index[r] & 15];
        switch (RegisterTable.Size[r])
        {
            case 8: slot = value; break;
            case 4: slot = (uint)value; break;
            case 2: slot = (slot & ~0xFFFFUL) | (ushort)value; break;
            default:
                slot = RegisterTable.High8[r]
                    ? (slot & ~0xFF00UL) | ((value & 0xFF) << 8)
                    : (slot & ~0xFFUL) | (byte)value;
                break;
        }
    }

    /// <summary>Writes a GPR by slot with x86 partial-register rules (32-bit writes zero-extend).</summary>
    private void WriteGpr(int index, int size, ulong value)
    {
        ref ulong slot = ref Gpr[index];
        slot = size switch
        {
            8 => value,
            4 => (uint)value,
            2 => (slot & ~0xFFFFUL) | (ushort)value,
            _ => (slot & ~0xFFUL) | (byte)value,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong SegmentBase(Register segment)
    {
        int s = (int)segment - (int)Register.ES;
        return _bitness == 64 && s < FS ? 0 : Seg[s].Base;
    }

    /// <summary>Offset part of the memory operand (no segment base), wrapped to the address size.</summary>
    private ulong EffectiveOffset(in Instruction ins)
    {
        var baseRegister = ins.MemoryBase;
        ulong ea = ins.MemoryDisplacement64;
        int addressSize;
        if (baseRegister == Register.RIP)
        {
            return ea - ins.IP + _instrStart;
        }

        if (baseRegister == Register.EIP)
        {
            return (ea - ins.IP + _instrStart) & 0xFFFF_FFFF;
        }

        if (baseRegister != Register.None)
        {
            ea += Gpr[RegisterTable.Index[(int)baseRegister] & 15];
            addressSize = RegisterTable.Size[(int)baseRegister];
        }
        else
        {
            addressSize = ins.MemoryDisplSize;
        }

        var index = ins.MemoryIndex;
        if (index != Register.None)
        {
            ea += Gpr[RegisterTable.Index[(int)index] & 15] * (uint)ins.MemoryIndexScale;
            addressSize = RegisterTable.Size[(int)index];
        }

        return addressSize switch
        {
            2 => ea & 0xFFFF,
            8 => ea,
            1 => _bitness == 64 ? ea : _bitness == 32 ? ea & 0xFFFF_FFFF : ea & 0xFFFF,
            _ => ea & 0xFFFF_FFFF,
        };
    }

    /// <summary>Linear address of the instruction's memory operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong MemoryLinear(in Instruction ins)
    {
        ulong linear = SegmentBase(ins.MemorySegment) + EffectiveOffset(ins);
        return _bitness == 64 ? linear : linear & 0xFFFF_FFFF;
    }

    /// <summary>Size in bytes of operand <paramref name="op"/>.</summary>
    private static int OperandSize(in Instruction ins, int op)
    {
        var kind = ins.GetOpKind(op);
        return kind switch
        {
            OpKind.Register => RegisterTable.Size[(int)ins.GetOpRegister(op)],
            OpKind.Memory => ins.MemorySize.GetSize(),
            OpKind.Immediate8 => 1,
            OpKind.Immediate16 => 2,
            OpKind.Immediate32 => 4,
            _ => 8,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Op0Size(in Instruction ins) =>
        ins.Op0Kind == OpKind.Register ? RegisterTable.Size[(int)ins.Op0Register] : ins.MemorySize.GetSize();

    private ulong ReadOperand(in Instruction ins, int op, int size)
    {
        switch (ins.GetOpKind(op))
        {
            case OpKind.Register:
                return ReadReg(ins.GetOpRegister(op));
            case OpKind.Memory:
                return ReadLinear(MemoryLinear(ins), size);
            default:
                return ins.GetImmediate(op) & SizeMask[size];
        }
    }

    /// <summary>Reads operand 1 (a register, memory or immediate source).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadOp1(in Instruction ins, int size) => ins.Op1Kind switch
    {
        OpKind.Register => ReadReg(ins.Op1Register),
        OpKind.Memory => ReadLinear(MemoryLinear(ins), size),
        _ => ins.GetImmediate(1) & SizeMask[size],
    };

    private void WriteOp0(in Instruction ins, int size, ulong value)
    {
        if (ins.Op0Kind == OpKind.Register)
        {
            WriteReg(ins.Op0Register, value);
        }
        else
        {
            WriteLinear(MemoryLinear(ins), size, value);
        }
    }

    private ulong StackLinear(ulong sp) => _bitness == 64 ? sp : (Seg[SS].Base + sp) & 0xFFFF_FFFF;

    internal void Push(ulong value, int size)
    {
        ulong sp = (Gpr[RSP] - (ulong)size) & _spMask;
        WriteLinear(StackLinear(sp), size, value);
        Gpr[RSP] = (Gpr[RSP] & ~_spMask) | sp;
    }

    internal ulong Pop(int size)
    {
        ulong sp = Gpr[RSP] & _spMask;
        ulong value = ReadLinear(StackLinear(sp), size);
        Gpr[RSP] = (Gpr[RSP] & ~_spMask) | ((sp + (ulong)size) & _spMask);
        return value;
    }
}
