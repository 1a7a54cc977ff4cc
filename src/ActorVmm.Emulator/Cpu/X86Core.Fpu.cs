using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// The x87/SSE state the x86-64 baseline requires and what the kernel does with it: x87 control
/// (FNINIT, FNSTSW, FNSTCW, FLDCW, FNCLEX, FWAIT), FXSAVE/FXRSTOR of the whole legacy area, MXCSR, and
/// SSE/SSE2 register moves and bitwise logic. x87 arithmetic is in X86Core.X87.cs, SSE floating point in
/// X86Core.SseFloat.cs.
/// </summary>
internal sealed partial class X86Core
{
    internal const ulong Cr0MP = 1UL << 1;
    internal const ulong Cr0EM = 1UL << 2;
    internal const ulong Cr0TS = 1UL << 3;
    internal const ulong Cr4OSFXSR = 1UL << 9;
    internal const ulong Cr4OSXMMEXCPT = 1UL << 10;

    /// <summary>FCW after FNINIT: all exceptions masked, 64-bit precision, round to nearest.</summary>
    internal const ushort FcwInit = 0x037F;

    /// <summary>MXCSR at reset: all exceptions masked, round to nearest.</summary>
    internal const uint MxcsrInit = 0x1F80;

    /// <summary>MXCSR bits software may set (FXSAVE's MXCSR_MASK): everything but DAZ (bit 6) and bits 31:16.</summary>
    internal const uint MxcsrMask = 0xFFBF;

    /// <summary>Size of the FXSAVE/FXRSTOR area.</summary>
    internal const int FxsaveSize = 512;

    private const int FxsaveMxcsrOffset = 24;
    private const int FxsaveMxcsrMaskOffset = 28;
    private const int FxsaveStOffset = 32;
    private const int FxsaveXmmOffset = 160;

    /// <summary>The 16 XMM registers as (low, high) quadword pairs: Xmm[2n] is bits 63:0 of XMMn.</summary>
    internal readonly ulong[] Xmm = new ulong[32];

    /// <summary>The eight physical x87 registers' sign and exponent words (R0..R7; ST(i) is R((TOP + i) mod 8)).</summary>
    private readonly ushort[] _x87Exponent = new ushort[8];

    /// <summary>The eight physical x87 registers' 64-bit significands.</summary>
    private readonly ulong[] _x87Significand = new ulong[8];

    internal ushort Fcw = 0x0040;
    internal ushort Fsw;

    /// <summary>The abridged tag word (one bit per register, 1 = valid) FXSAVE stores.</summary>
    internal byte Ftw;
    internal ushort Fop;
    internal ulong Fip;
    internal ulong Fdp;
    internal uint Mxcsr = MxcsrInit;

    private bool TryExecuteFpu(ref Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Fninit:
                CheckX87Available();
                Fcw = FcwInit;
                Fsw = 0;
                Ftw = 0;
                Fop = 0;
                Fip = Fdp = 0;
                return true;
            case Mnemonic.Fnclex:
                CheckX87Available();
                Fsw &= 0x7F00;
                return true;
            case Mnemonic.Fnstsw:
                CheckX87Available();
                if (ins.Op0Kind == OpKind.Register)
                {
                    WriteReg(ins.Op0Register, Fsw);
                }
                else
                {
                    WriteLinear(MemoryLinear(ins), 2, Fsw);
                }

                return true;
            case Mnemonic.Fnstcw:
                CheckX87Available();
                WriteLinear(MemoryLinear(ins), 2, Fcw);
                return true;
            case Mnemonic.Fldcw:
                // A waiting instruction, but a control one: FIP/FDP keep the last arithmetic instruction's.
                CheckX87Available();
                ReportPendingX87Exception();
                Fcw = (ushort)(ReadLinear(MemoryLinear(ins), 2) | 0x40);
                UpdateErrorSummary();
                return true;
            case Mnemonic.Wait:
                // FWAIT faults only when both MP and TS are set, then reports a pending unmasked x87 exception.
                if ((Cr0 & (Cr0MP | Cr0TS)) == (Cr0MP | Cr0TS))
                {
                    throw new GuestFault(ExceptionVector.NM);
                }

                ReportPendingX87Exception();
                return true;

            case Mnemonic.Fxsave:
            case Mnemonic.Fxsave64:
                CheckX87Available();
                FxSave(FxsaveArea(ins), wide: ins.Mnemonic == Mnemonic.Fxsave64);
                return true;
            case Mnemonic.Fxrstor:
            case Mnemonic.Fxrstor64:
                CheckX87Available();
                FxRestore(FxsaveArea(ins), wide: ins.Mnemonic == Mnemonic.Fxrstor64);
                return true;

            case Mnemonic.Ldmxcsr:
            {
                CheckSseAvailable();
                uint value = (uint)ReadLinear(MemoryLinear(ins), 4);
                if ((value & ~MxcsrMask) != 0)
                {
                    throw new GuestFault(ExceptionVector.GP, 0);
                }

                Mxcsr = value;
                return true;
            }

            case Mnemonic.Stmxcsr:
                CheckSseAvailable();
                WriteLinear(MemoryLinear(ins), 4, Mxcsr);
                return true;

            case Mnemonic.Movaps:
            case Mnemonic.Movapd:
            case Mnemonic.Movdqa:
            case Mnemonic.Movntps:
            case Mnemonic.Movntpd:
            case Mnemonic.Movntdq:
                CheckSseAvailable();
                Move128(ins, aligned: true);
                return true;
            case Mnemonic.Movups:
            case Mnemonic.Movupd:
            case Mnemonic.Movdqu:
                CheckSseAvailable();
                Move128(ins, aligned: false);
                return true;

            case Mnemonic.Movd:
            case Mnemonic.Movq:
                CheckSseAvailable();
                MoveScalarInteger(ins);
                return true;

            case Mnemonic.Pxor:
            case Mnemonic.Xorps:
            case Mnemonic.Xorpd:
                CheckSseAvailable();
                Logic128(ins, static (a, b) => a ^ b);
                return true;
            case Mnemonic.Por:
            case Mnemonic.Orps:
            case Mnemonic.Orpd:
                CheckSseAvailable();
                Logic128(ins, static (a, b) => a | b);
                return true;
            case Mnemonic.Pand:
            case Mnemonic.Andps:
            case Mnemonic.Andpd:
                CheckSseAvailable();
                Logic128(ins, static (a, b) => a & b);
                return true;
            case Mnemonic.Pandn:
            case Mnemonic.Andnps:
            case Mnemonic.Andnpd:
                CheckSseAvailable();
                Logic128(ins, static (a, b) => ~a & b);
                return true;

            case Mnemonic.Movnti:
            {
                int size = RegisterTable.Size[(int)ins.Op1Register];
                WriteLinear(MemoryLinear(ins), size, ReadReg(ins.Op1Register));
                return true;
            }

            default:
                return false;
        }
    }

    /// <summary>Clears the x87/SSE state to its power-on values (FCW 0x40, MXCSR 0x1F80, registers zero).</summary>
    private void ResetFpu()
    {
        Array.Clear(Xmm);
        Array.Clear(_x87Exponent);
        Array.Clear(_x87Significand);
        Fcw = 0x0040;
        Fsw = 0;
        Ftw = 0;
        Fop = 0;
        Fip = Fdp = 0;
        Mxcsr = MxcsrInit;
    }

    /// <summary>x87 instructions and FXSAVE/FXRSTOR: #NM while CR0.EM or CR0.TS is set.</summary>
    private void CheckX87Available()
    {
        if ((Cr0 & (Cr0EM | Cr0TS)) != 0)
        {
            throw new GuestFault(ExceptionVector.NM);
        }
    }

    /// <summary>SSE instructions: #UD with CR0.EM set or CR4.OSFXSR clear, #NM with CR0.TS set.</summary>
    private void CheckSseAvailable()
    {
        if ((Cr0 & Cr0EM) != 0 || (Cr4 & Cr4OSFXSR) == 0)
        {
            throw new GuestFault(ExceptionVector.UD);
        }

        if ((Cr0 & Cr0TS) != 0)
        {
            throw new GuestFault(ExceptionVector.NM);
        }
    }

    private ulong FxsaveArea(in Instruction ins)
    {
        ulong linear = MemoryLinear(ins);
        if ((linear & 15) != 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        return linear;
    }

    /// <summary>The XMM registers FXSAVE covers: all 16 in 64-bit mode, XMM0-7 otherwise.</summary>
    private int XmmRegisterCount => _bitness == 64 ? 16 : 8;

    private void FxSave(ulong linear, bool wide)
    {
        // Translate the last byte for writing first so a fault leaves the area untouched (it spans at most two pages).
        _ = Translate(linear + FxsaveSize - 1, AccessKind.Write);
        _ = Translate(linear, AccessKind.Write);
        WriteLinear(linear, 2, Fcw);
        WriteLinear(linear + 2, 2, Fsw);
        WriteLinear(linear + 4, 2, Ftw);
        WriteLinear(linear + 6, 2, Fop);
        if (wide)
        {
            WriteLinear(linear + 8, 8, Fip);
            WriteLinear(linear + 16, 8, Fdp);
        }
        else
        {
            // 32-bit format: FIP, FCS, FDP, FDS (the selectors are not tracked and read as zero).
            WriteLinear(linear + 8, 8, Fip & 0xFFFF_FFFF);
            WriteLinear(linear + 16, 8, Fdp & 0xFFFF_FFFF);
        }

        WriteLinear(linear + FxsaveMxcsrOffset, 4, Mxcsr);
        WriteLinear(linear + FxsaveMxcsrMaskOffset, 4, MxcsrMask);
        for (int i = 0; i < 8; i++)
        {
            // The area holds the registers in stack order: ST(i) at slot i.
            ulong st = linear + FxsaveStOffset + (ulong)(16 * i);
            int physical = PhysicalRegister(i);
            WriteLinear(st, 8, _x87Significand[physical]);
            WriteLinear(st + 8, 2, _x87Exponent[physical]);
        }

        for (int i = 0; i < XmmRegisterCount; i++)
        {
            ulong slot = linear + FxsaveXmmOffset + (ulong)(16 * i);
            WriteLinear(slot, 8, Xmm[2 * i]);
            WriteLinear(slot + 8, 8, Xmm[(2 * i) + 1]);
        }
    }

    private void FxRestore(ulong linear, bool wide)
    {
        uint mxcsr = (uint)ReadLinear(linear + FxsaveMxcsrOffset, 4);
        if ((mxcsr & ~MxcsrMask) != 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        // Read everything before changing any state, so a page fault part-way leaves the registers as they were.
        ushort fcw = (ushort)ReadLinear(linear, 2);
        ushort fsw = (ushort)ReadLinear(linear + 2, 2);
        byte ftw = (byte)ReadLinear(linear + 4, 1);
        ushort fop = (ushort)ReadLinear(linear + 6, 2);
        ulong fip = ReadLinear(linear + 8, 8);
        ulong fdp = ReadLinear(linear + 16, 8);
        var significands = new ulong[8];
        var exponents = new ushort[8];
        for (int i = 0; i < 8; i++)
        {
            ulong at = linear + FxsaveStOffset + (ulong)(16 * i);
            significands[i] = ReadLinear(at, 8);
            exponents[i] = (ushort)ReadLinear(at + 8, 2);
        }

        int count = XmmRegisterCount;
        var xmm = new ulong[2 * count];
        for (int i = 0; i < count; i++)
        {
            ulong slot = linear + FxsaveXmmOffset + (ulong)(16 * i);
            xmm[2 * i] = ReadLinear(slot, 8);
            xmm[(2 * i) + 1] = ReadLinear(slot + 8, 8);
        }

        Fcw = (ushort)(fcw | 0x40);
        Fsw = fsw;
        Ftw = ftw;
        Fop = (ushort)(fop & 0x7FF);
        Fip = wide ? fip : fip & 0xFFFF_FFFF;
        Fdp = wide ? fdp : fdp & 0xFFFF_FFFF;
        Mxcsr = mxcsr;
        for (int i = 0; i < 8; i++)
        {
            int physical = PhysicalRegister(i);
            _x87Significand[physical] = significands[i];
            _x87Exponent[physical] = exponents[i];
        }

        xmm.CopyTo(Xmm, 0);
    }

    /// <summary>Index of an XMM register operand; MMX registers (not advertised) stop the emulator.</summary>
    private static int XmmIndex(Register register)
    {
        if (register is >= Register.XMM0 and <= Register.XMM15)
        {
            return register - Register.XMM0;
        }

        throw new EmulationException($"Unsupported vector register {register} (MMX and AVX are not implemented)");
    }

    private (ulong Low, ulong High) Read128(in Instruction ins, int op, bool aligned)
    {
        if (ins.GetOpKind(op) == OpKind.Register)
        {
            int x = XmmIndex(ins.GetOpRegister(op));
            return (Xmm[2 * x], Xmm[(2 * x) + 1]);
        }

        ulong linear = MemoryLinear(ins);
        if (aligned && (linear & 15) != 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        return (ReadLinear(linear, 8), ReadLinear(linear + 8, 8));
    }

    private void Move128(in Instruction ins, bool aligned)
    {
        var (low, high) = Read128(ins, 1, aligned);
        if (ins.Op0Kind == OpKind.Register)
        {
            int x = XmmIndex(ins.Op0Register);
            Xmm[2 * x] = low;
            Xmm[(2 * x) + 1] = high;
            return;
        }

        ulong linear = MemoryLinear(ins);
        if (aligned && (linear & 15) != 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        // Both halves' pages are checked before either is written.
        _ = Translate(linear + 15, AccessKind.Write);
        WriteLinear(linear, 8, low);
        WriteLinear(linear + 8, 8, high);
    }

    private void Logic128(in Instruction ins, Func<ulong, ulong, ulong> operation)
    {
        int x = XmmIndex(ins.Op0Register);
        var (low, high) = Read128(ins, 1, aligned: ins.Op1Kind == OpKind.Memory);
        Xmm[2 * x] = operation(Xmm[2 * x], low);
        Xmm[(2 * x) + 1] = operation(Xmm[(2 * x) + 1], high);
    }

    /// <summary>MOVD/MOVQ between XMM and a GPR or memory; loads into XMM zero the rest of the register.</summary>
    private void MoveScalarInteger(in Instruction ins)
    {
        int size = ins.Mnemonic == Mnemonic.Movd ? 4 : 8;
        if (ins.Op0Kind == OpKind.Register && ins.Op0Register is >= Register.XMM0 and <= Register.XMM31)
        {
            int x = XmmIndex(ins.Op0Register);
            ulong value = ins.Op1Kind switch
            {
                OpKind.Register when ins.Op1Register is >= Register.XMM0 and <= Register.XMM31 => Xmm[2 * XmmIndex(ins.Op1Register)],
                OpKind.Register => ReadReg(ins.Op1Register),
                _ => ReadLinear(MemoryLinear(ins), size),
            };
            Xmm[2 * x] = size == 4 ? (uint)value : value;
            Xmm[(2 * x) + 1] = 0;
            return;
        }

        ulong source = Xmm[2 * XmmIndex(ins.Op1Register)];
        if (ins.Op0Kind == OpKind.Register)
        {
            WriteReg(ins.Op0Register, size == 4 ? (uint)source : source);
        }
        else
        {
            WriteLinear(MemoryLinear(ins), size, source);
        }
    }
}
