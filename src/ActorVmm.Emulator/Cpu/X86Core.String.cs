using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>String instructions with REP prefixes; each INS/OUTS element is one port dispatch.</summary>
internal sealed partial class X86Core
{
    /// <summary>Elements a REP instruction runs before giving the run loop a chance to stop (it resumes where it left off).</summary>
    private const int RepChunk = 1024;

    private enum StringKind
    {
        Movs,
        Stos,
        Lods,
        Cmps,
        Scas,
        Ins,
        Outs,
    }

    private bool TryExecuteString(ref Instruction ins)
    {
        (StringKind kind, int size) = ins.Code switch
        {
            Code.Movsb_m8_m8 => (StringKind.Movs, 1),
            Code.Movsw_m16_m16 => (StringKind.Movs, 2),
            Code.Movsd_m32_m32 => (StringKind.Movs, 4),
            Code.Movsq_m64_m64 => (StringKind.Movs, 8),
            Code.Stosb_m8_AL => (StringKind.Stos, 1),
            Code.Stosw_m16_AX => (StringKind.Stos, 2),
            Code.Stosd_m32_EAX => (StringKind.Stos, 4),
            Code.Stosq_m64_RAX => (StringKind.Stos, 8),
            Code.Lodsb_AL_m8 => (StringKind.Lods, 1),
            Code.Lodsw_AX_m16 => (StringKind.Lods, 2),
            Code.Lodsd_EAX_m32 => (StringKind.Lods, 4),
            Code.Lodsq_RAX_m64 => (StringKind.Lods, 8),
            Code.Cmpsb_m8_m8 => (StringKind.Cmps, 1),
            Code.Cmpsw_m16_m16 => (StringKind.Cmps, 2),
            Code.Cmpsd_m32_m32 => (StringKind.Cmps, 4),
            Code.Cmpsq_m64_m64 => (StringKind.Cmps, 8),
            Code.Scasb_AL_m8 => (StringKind.Scas, 1),
            Code.Scasw_AX_m16 => (StringKind.Scas, 2),
            Code.Scasd_EAX_m32 => (StringKind.Scas, 4),
            Code.Scasq_RAX_m64 => (StringKind.Scas, 8),
            Code.Insb_m8_DX => (StringKind.Ins, 1),
            Code.Insw_m16_DX => (StringKind.Ins, 2),
            Code.Insd_m32_DX => (StringKind.Ins, 4),
            Code.Outsb_DX_m8 => (StringKind.Outs, 1),
            Code.Outsw_DX_m16 => (StringKind.Outs, 2),
            Code.Outsd_DX_m32 => (StringKind.Outs, 4),
            _ => ((StringKind)(-1), 0),
        };
        if (size == 0)
        {
            return false;
        }

        if (kind is StringKind.Ins or StringKind.Outs)
        {
            // Checked once before the first element, even for a zero count (as QEMU does).
            CheckIoPermission((ushort)Gpr[RDX], size);
        }

        ExecuteString(ref ins, kind, size);
        return true;
    }

    private static int StringAddressSize(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.MemorySegSI:
                case OpKind.MemorySegDI:
                case OpKind.MemoryESDI:
                    return 2;
                case OpKind.MemorySegESI:
                case OpKind.MemorySegEDI:
                case OpKind.MemoryESEDI:
                    return 4;
                case OpKind.MemorySegRSI:
                case OpKind.MemorySegRDI:
                case OpKind.MemoryESRDI:
                    return 8;
            }
        }

        return 2;
    }

    private void ExecuteString(ref Instruction ins, StringKind kind, int size)
    {
        int addressSize = StringAddressSize(ins);
        ulong addressMask = SizeMask[addressSize];
        ulong step = (Flags & RFlags.DF) != 0 ? (ulong)(-size) : (ulong)size;
        bool rep = ins.HasRepPrefix || ins.HasRepnePrefix;
        bool compares = kind is StringKind.Cmps or StringKind.Scas;
        ulong sourceBase = SegmentBase(ins.MemorySegment);
        ulong destinationBase = SegmentBase(Register.ES);
        ulong linearMask = _bitness == 64 ? ulong.MaxValue : 0xFFFF_FFFF;
        int done = 0;
        while (true)
        {
            if (rep && (Gpr[RCX] & addressMask) == 0)
            {
                return;
            }

            ulong si = Gpr[RSI] & addressMask;
            ulong di = Gpr[RDI] & addressMask;
            switch (kind)
            {
                case StringKind.Movs:
                    WriteLinear((destinationBase + di) & linearMask, size, ReadLinear((sourceBase + si) & linearMask, size));
                    WriteGpr(RSI, addressSize, si + step);
                    WriteGpr(RDI, addressSize, di + step);
                    break;
                case StringKind.Stos:
                    WriteLinear((destinationBase + di) & linearMask, size, Gpr[RAX] & SizeMask[size]);
                    WriteGpr(RDI, addressSize, di + step);
                    break;
                case StringKind.Lods:
                    WriteGpr(RAX, size, ReadLinear((sourceBase + si) & linearMask, size));
                    WriteGpr(RSI, addressSize, si + step);
                    break;
                case StringKind.Cmps:
                    Arith(OpCmp, ReadLinear((sourceBase + si) & linearMask, size), ReadLinear((destinationBase + di) & linearMask, size), size);
                    WriteGpr(RSI, addressSize, si + step);
                    WriteGpr(RDI, addressSize, di + step);
                    break;
                case StringKind.Scas:
                    Arith(OpCmp, Gpr[RAX] & SizeMask[size], ReadLinear((destinationBase + di) & linearMask, size), size);
                    WriteGpr(RDI, addressSize, di + step);
                    break;
                case StringKind.Ins:
                    WriteLinear((destinationBase + di) & linearMask, size, PortRead((ushort)Gpr[RDX], size));
                    WriteGpr(RDI, addressSize, di + step);
                    break;
                default:
                    PortWrite((ushort)Gpr[RDX], size, ReadLinear((sourceBase + si) & linearMask, size));
                    WriteGpr(RSI, addressSize, si + step);
                    break;
            }

            if (!rep)
            {
                return;
            }

            WriteGpr(RCX, addressSize, (Gpr[RCX] - 1) & addressMask);
            if (compares)
            {
                bool zf = (Flags & RFlags.ZF) != 0;
                if (ins.HasRepePrefix ? !zf : zf)
                {
                    return;
                }
            }

            if ((Gpr[RCX] & addressMask) == 0)
            {
                return;
            }

            if (++done >= RepChunk || _budget <= 0)
            {
                // Come back to this instruction after the run loop had its chance to stop or take an interrupt.
                Rip = _instrStart;
                return;
            }
        }
    }
}
