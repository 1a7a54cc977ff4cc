using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>The fast paths for pre-digested register-only instructions (see <see cref="CachedInstruction"/>).</summary>
internal sealed partial class X86Core
{
    /// <summary>Runs a fast-path instruction; false sends it to the general interpreter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool ExecuteFast(ref CachedInstruction c)
    {
        ref ulong gpr = ref MemoryMarshal.GetArrayDataReference(Gpr);
        switch (c.Kind)
        {
            case FastKind.AluRR:
            {
                ulong a = Get(ref gpr, c.Dst, c.Size, c.DstHigh);
                ulong b = Get(ref gpr, c.Src, c.Size, c.SrcHigh);
                if (c.Op == 8)
                {
                    Arith(OpAnd, a, b, c.Size);
                }
                else if (c.Op == OpCmp)
                {
                    Arith(OpCmp, a, b, c.Size);
                }
                else
                {
                    Set(ref gpr, c.Dst, c.Size, c.DstHigh, Arith(c.Op, a, b, c.Size));
                }

                return true;
            }

            case FastKind.AluRI:
            {
                ulong a = Get(ref gpr, c.Dst, c.Size, c.DstHigh);
                if (c.Op == 8)
                {
                    Arith(OpAnd, a, c.Imm, c.Size);
                }
                else if (c.Op == OpCmp)
                {
                    Arith(OpCmp, a, c.Imm, c.Size);
                }
                else
                {
                    Set(ref gpr, c.Dst, c.Size, c.DstHigh, Arith(c.Op, a, c.Imm, c.Size));
                }

                return true;
            }

            case FastKind.IncR:
            case FastKind.DecR:
                Set(ref gpr, c.Dst, c.Size, c.DstHigh, IncDec(Get(ref gpr, c.Dst, c.Size, c.DstHigh), c.Size, c.Kind == FastKind.IncR));
                return true;

            case FastKind.MovRR:
                Set(ref gpr, c.Dst, c.Size, c.DstHigh, Get(ref gpr, c.Src, c.Size, c.SrcHigh));
                return true;

            case FastKind.MovRI:
                Set(ref gpr, c.Dst, c.Size, c.DstHigh, c.Imm);
                return true;

            case FastKind.Jcc:
                if (Condition((ConditionCode)c.Op))
                {
                    Rip = (_instrStart + c.Imm) & c.BranchMask;
                }

                return true;

            case FastKind.Jmp:
                Rip = (_instrStart + c.Imm) & c.BranchMask;
                return true;

            case FastKind.Out:
            {
                ushort port = c.Op != 0 ? (ushort)Unsafe.Add(ref gpr, RDX) : (ushort)c.Imm;
                CheckIoPermission(port, c.Size);
                PortWrite(port, c.Size, gpr & SizeMask[c.Size]);
                return true;
            }

            case FastKind.In:
            {
                ushort port = c.Op != 0 ? (ushort)Unsafe.Add(ref gpr, RDX) : (ushort)c.Imm;
                CheckIoPermission(port, c.Size);
                WriteGpr(RAX, c.Size, PortRead(port, c.Size));
                return true;
            }

            case FastKind.Nop:
                return true;

            default:
                return false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Get(ref ulong gpr, byte slot, byte size, bool high)
    {
        ulong full = Unsafe.Add(ref gpr, slot & 15);
        return size switch
        {
            4 => (uint)full,
            8 => full,
            2 => (ushort)full,
            _ => high ? (byte)(full >> 8) : (byte)full,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Set(ref ulong gpr, byte slot, byte size, bool high, ulong value)
    {
        ref ulong r = ref Unsafe.Add(ref gpr, slot & 15);
        r = size switch
        {
            4 => (uint)value,
            8 => value,
            2 => (r & ~0xFFFFUL) | (ushort)value,
            _ => high ? (r & ~0xFF00UL) | ((value & 0xFF) << 8) : (r & ~0xFFUL) | (byte)value,
        };
    }
}
