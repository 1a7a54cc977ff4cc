using System.Runtime.Intrinsics;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// The SSE2 packed-integer instructions: unpacks, PSHUFD/PSHUFLW/PSHUFHW, compares for equality and signed greater-than,
/// PMOVMSKB, min/max (PMINUB/PMAXUB/PMINSW/PMAXSW), add/subtract with wrap-around and with signed and unsigned saturation,
/// the multiplies (PMULLW/PMULHW/PMULHUW/PMULUDQ/PMADDWD), PAVGB/PAVGW, PSADBW, the packs (PACKSSWB/PACKSSDW/PACKUSWB),
/// shifts by an immediate or by an XMM/memory count (logical and arithmetic), PEXTRW/PINSRW and the half-register moves
/// (MOVHPS/MOVLPS/MOVHPD/MOVLPD, MOVLHPS/MOVHLPS). Computed with the portable <see cref="Vector128"/> API, or lane by
/// lane where it has no equivalent, on the register's two quadwords.
/// </summary>
internal sealed partial class X86Core
{
    private bool TryExecuteSseInteger(ref Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Punpcklbw: Binary128(ins, static (a, b) => Unpack(a, b, 1, high: false)); return true;
            case Mnemonic.Punpcklwd: Binary128(ins, static (a, b) => Unpack(a, b, 2, high: false)); return true;
            case Mnemonic.Punpckldq: Binary128(ins, static (a, b) => Unpack(a, b, 4, high: false)); return true;
            case Mnemonic.Punpcklqdq: Binary128(ins, static (a, b) => Unpack(a, b, 8, high: false)); return true;
            case Mnemonic.Punpckhbw: Binary128(ins, static (a, b) => Unpack(a, b, 1, high: true)); return true;
            case Mnemonic.Punpckhwd: Binary128(ins, static (a, b) => Unpack(a, b, 2, high: true)); return true;
            case Mnemonic.Punpckhdq: Binary128(ins, static (a, b) => Unpack(a, b, 4, high: true)); return true;
            case Mnemonic.Punpckhqdq: Binary128(ins, static (a, b) => Unpack(a, b, 8, high: true)); return true;
            case Mnemonic.Pcmpeqb: Binary128(ins, static (a, b) => Vector128.Equals(a, b)); return true;
            case Mnemonic.Pcmpeqw: Binary128(ins, static (a, b) => Vector128.Equals(a.AsUInt16(), b.AsUInt16()).AsByte()); return true;
            case Mnemonic.Pcmpeqd: Binary128(ins, static (a, b) => Vector128.Equals(a.AsUInt32(), b.AsUInt32()).AsByte()); return true;
            case Mnemonic.Pcmpgtb: Binary128(ins, static (a, b) => Vector128.GreaterThan(a.AsSByte(), b.AsSByte()).AsByte()); return true;
            case Mnemonic.Pcmpgtw: Binary128(ins, static (a, b) => Vector128.GreaterThan(a.AsInt16(), b.AsInt16()).AsByte()); return true;
            case Mnemonic.Pcmpgtd: Binary128(ins, static (a, b) => Vector128.GreaterThan(a.AsInt32(), b.AsInt32()).AsByte()); return true;
            case Mnemonic.Pminub: Binary128(ins, static (a, b) => Vector128.Min(a, b)); return true;
            case Mnemonic.Pmaxub: Binary128(ins, static (a, b) => Vector128.Max(a, b)); return true;
            case Mnemonic.Paddb: Binary128(ins, static (a, b) => a + b); return true;
            case Mnemonic.Paddw: Binary128(ins, static (a, b) => (a.AsUInt16() + b.AsUInt16()).AsByte()); return true;
            case Mnemonic.Paddd: Binary128(ins, static (a, b) => (a.AsUInt32() + b.AsUInt32()).AsByte()); return true;
            case Mnemonic.Paddq: Binary128(ins, static (a, b) => (a.AsUInt64() + b.AsUInt64()).AsByte()); return true;
            case Mnemonic.Psubb: Binary128(ins, static (a, b) => a - b); return true;
            case Mnemonic.Psubw: Binary128(ins, static (a, b) => (a.AsUInt16() - b.AsUInt16()).AsByte()); return true;
            case Mnemonic.Psubd: Binary128(ins, static (a, b) => (a.AsUInt32() - b.AsUInt32()).AsByte()); return true;
            case Mnemonic.Psubq: Binary128(ins, static (a, b) => (a.AsUInt64() - b.AsUInt64()).AsByte()); return true;

            case Mnemonic.Paddusb: Binary128(ins, static (a, b) => Each8(a, b, static (x, y) => (byte)Math.Min(x + y, byte.MaxValue))); return true;
            case Mnemonic.Paddusw: Binary128(ins, static (a, b) => Each16(a, b, static (x, y) => (ushort)Math.Min(x + y, ushort.MaxValue))); return true;
            case Mnemonic.Psubusb: Binary128(ins, static (a, b) => Each8(a, b, static (x, y) => (byte)Math.Max(x - y, 0))); return true;
            case Mnemonic.Psubusw: Binary128(ins, static (a, b) => Each16(a, b, static (x, y) => (ushort)Math.Max(x - y, 0))); return true;
            case Mnemonic.Paddsb: Binary128(ins, static (a, b) => Each8(a, b, static (x, y) => SaturateSByte((sbyte)x + (sbyte)y))); return true;
            case Mnemonic.Paddsw: Binary128(ins, static (a, b) => Each16(a, b, static (x, y) => SaturateShort((short)x + (short)y))); return true;
            case Mnemonic.Psubsb: Binary128(ins, static (a, b) => Each8(a, b, static (x, y) => SaturateSByte((sbyte)x - (sbyte)y))); return true;
            case Mnemonic.Psubsw: Binary128(ins, static (a, b) => Each16(a, b, static (x, y) => SaturateShort((short)x - (short)y))); return true;
            case Mnemonic.Pminsw: Binary128(ins, static (a, b) => Vector128.Min(a.AsInt16(), b.AsInt16()).AsByte()); return true;
            case Mnemonic.Pmaxsw: Binary128(ins, static (a, b) => Vector128.Max(a.AsInt16(), b.AsInt16()).AsByte()); return true;
            case Mnemonic.Pavgb: Binary128(ins, static (a, b) => Each8(a, b, static (x, y) => (byte)((x + y + 1) >> 1))); return true;
            case Mnemonic.Pavgw: Binary128(ins, static (a, b) => Each16(a, b, static (x, y) => (ushort)((x + y + 1) >> 1))); return true;
            case Mnemonic.Pmullw: Binary128(ins, static (a, b) => Each16(a, b, static (x, y) => (ushort)(x * y))); return true;
            case Mnemonic.Pmulhw: Binary128(ins, static (a, b) => Each16(a, b, static (x, y) => (ushort)(((short)x * (short)y) >> 16))); return true;
            case Mnemonic.Pmulhuw: Binary128(ins, static (a, b) => Each16(a, b, static (x, y) => (ushort)((x * y) >> 16))); return true;
            case Mnemonic.Pmuludq:
                Binary128(ins, static (a, b) => Vector128.Create(
                    (ulong)(uint)a.AsUInt64().GetElement(0) * (uint)b.AsUInt64().GetElement(0),
                    (ulong)(uint)a.AsUInt64().GetElement(1) * (uint)b.AsUInt64().GetElement(1)).AsByte());
                return true;
            case Mnemonic.Pmaddwd: Binary128(ins, static (a, b) => MultiplyAdd(a.AsInt16(), b.AsInt16())); return true;
            case Mnemonic.Psadbw: Binary128(ins, static (a, b) => SumOfAbsoluteDifferences(a, b)); return true;
            case Mnemonic.Packsswb: Binary128(ins, static (a, b) => PackNarrowed(a, b, 2, static v => (byte)SaturateSByte((short)v))); return true;
            case Mnemonic.Packssdw: Binary128(ins, static (a, b) => PackNarrowed(a, b, 4, static v => SaturateShort((int)v))); return true;
            case Mnemonic.Packuswb: Binary128(ins, static (a, b) => PackNarrowed(a, b, 2, static v => (byte)Math.Clamp((int)(short)v, 0, byte.MaxValue))); return true;

            case Mnemonic.Pshuflw:
            case Mnemonic.Pshufhw:
            {
                // Four words of one half picked by imm8; the other half is copied from the source.
                CheckSseAvailable();
                var (low, high) = Read128(ins, 1, aligned: ins.Op1Kind == OpKind.Memory);
                bool upper = ins.Mnemonic == Mnemonic.Pshufhw;
                ulong half = upper ? high : low;
                uint order = ins.Immediate8;
                ulong shuffled = 0;
                for (int slot = 0; slot < 4; slot++)
                {
                    ulong word = (half >> (16 * (int)((order >> (2 * slot)) & 3))) & 0xFFFF;
                    shuffled |= word << (16 * slot);
                }

                SetXmm(XmmIndex(ins.Op0Register), upper ? low : shuffled, upper ? shuffled : high);
                return true;
            }

            case Mnemonic.Pextrw:
            {
                CheckSseAvailable();
                int x = XmmIndex(ins.Op1Register);
                int word = ins.Immediate8 & 7;
                WriteReg(ins.Op0Register, (Xmm[(2 * x) + (word >> 2)] >> (16 * (word & 3))) & 0xFFFF);
                return true;
            }

            case Mnemonic.Pinsrw:
            {
                CheckSseAvailable();
                int x = XmmIndex(ins.Op0Register);
                int word = ins.Immediate8 & 7;
                ulong value = (ins.Op1Kind == OpKind.Register ? ReadReg(ins.Op1Register) : ReadLinear(MemoryLinear(ins), 2)) & 0xFFFF;
                int slot = (2 * x) + (word >> 2);
                int shift = 16 * (word & 3);
                Xmm[slot] = (Xmm[slot] & ~(0xFFFFUL << shift)) | (value << shift);
                return true;
            }

            case Mnemonic.Pshufd:
            {
                CheckSseAvailable();
                var (low, high) = Read128(ins, 1, aligned: ins.Op1Kind == OpKind.Memory);
                uint order = ins.Immediate8;
                var source = Vector128.Create(low, high).AsUInt32();
                uint Pick(int slot) => source.GetElement((int)(order >> (2 * slot)) & 3);
                SetXmm(XmmIndex(ins.Op0Register), Pick(0) | ((ulong)Pick(1) << 32), Pick(2) | ((ulong)Pick(3) << 32));
                return true;
            }

            case Mnemonic.Pmovmskb:
            {
                CheckSseAvailable();
                int x = XmmIndex(ins.Op1Register);
                uint mask = Vector128.Create(Xmm[2 * x], Xmm[(2 * x) + 1]).AsByte().ExtractMostSignificantBits();
                WriteReg(ins.Op0Register, mask);
                return true;
            }

            case Mnemonic.Psrldq:
            case Mnemonic.Pslldq:
            {
                CheckSseAvailable();
                int x = XmmIndex(ins.Op0Register);
                int bytes = Math.Min((int)ins.Immediate8, 16);
                UInt128 value = ((UInt128)Xmm[(2 * x) + 1] << 64) | Xmm[2 * x];
                value = bytes == 16 ? UInt128.Zero : ins.Mnemonic == Mnemonic.Psrldq ? value >> (8 * bytes) : value << (8 * bytes);
                SetXmm(x, (ulong)value, (ulong)(value >> 64));
                return true;
            }

            case Mnemonic.Psrlw when ins.Op1Kind == OpKind.Immediate8: ShiftImmediate(ins, 16, left: false); return true;
            case Mnemonic.Psrld when ins.Op1Kind == OpKind.Immediate8: ShiftImmediate(ins, 32, left: false); return true;
            case Mnemonic.Psrlq when ins.Op1Kind == OpKind.Immediate8: ShiftImmediate(ins, 64, left: false); return true;
            case Mnemonic.Psllw when ins.Op1Kind == OpKind.Immediate8: ShiftImmediate(ins, 16, left: true); return true;
            case Mnemonic.Pslld when ins.Op1Kind == OpKind.Immediate8: ShiftImmediate(ins, 32, left: true); return true;
            case Mnemonic.Psllq when ins.Op1Kind == OpKind.Immediate8: ShiftImmediate(ins, 64, left: true); return true;
            case Mnemonic.Psraw when ins.Op1Kind == OpKind.Immediate8: ShiftArithmetic(ins, 16, ins.Immediate8); return true;
            case Mnemonic.Psrad when ins.Op1Kind == OpKind.Immediate8: ShiftArithmetic(ins, 32, ins.Immediate8); return true;
            case Mnemonic.Psrlw: ShiftByRegister(ins, 16, left: false); return true;
            case Mnemonic.Psrld: ShiftByRegister(ins, 32, left: false); return true;
            case Mnemonic.Psrlq: ShiftByRegister(ins, 64, left: false); return true;
            case Mnemonic.Psllw: ShiftByRegister(ins, 16, left: true); return true;
            case Mnemonic.Pslld: ShiftByRegister(ins, 32, left: true); return true;
            case Mnemonic.Psllq: ShiftByRegister(ins, 64, left: true); return true;
            case Mnemonic.Psraw: ShiftArithmetic(ins, 16, ShiftCount(ins)); return true;
            case Mnemonic.Psrad: ShiftArithmetic(ins, 32, ShiftCount(ins)); return true;

            case Mnemonic.Movhps:
            case Mnemonic.Movhpd:
            case Mnemonic.Movlps:
            case Mnemonic.Movlpd:
            {
                // One quadword between memory and the high (H) or low (L) half; the other half is kept.
                CheckSseAvailable();
                int half = ins.Mnemonic is Mnemonic.Movhps or Mnemonic.Movhpd ? 1 : 0;
                if (ins.Op0Kind == OpKind.Register)
                {
                    Xmm[(2 * XmmIndex(ins.Op0Register)) + half] = ReadLinear(MemoryLinear(ins), 8);
                }
                else
                {
                    WriteLinear(MemoryLinear(ins), 8, Xmm[(2 * XmmIndex(ins.Op1Register)) + half]);
                }

                return true;
            }

            case Mnemonic.Movlhps:
            case Mnemonic.Movhlps:
            {
                CheckSseAvailable();
                int x = XmmIndex(ins.Op0Register);
                int y = XmmIndex(ins.Op1Register);
                if (ins.Mnemonic == Mnemonic.Movlhps)
                {
                    Xmm[(2 * x) + 1] = Xmm[2 * y];
                }
                else
                {
                    Xmm[2 * x] = Xmm[(2 * y) + 1];
                }

                return true;
            }

            default:
                return false;
        }
    }

    private void SetXmm(int x, ulong low, ulong high)
    {
        Xmm[2 * x] = low;
        Xmm[(2 * x) + 1] = high;
    }

    /// <summary>dst = op(dst, src) on XMM registers; a memory source must be 16-byte aligned (legacy SSE).</summary>
    private void Binary128(in Instruction ins, Func<Vector128<byte>, Vector128<byte>, Vector128<byte>> operation)
    {
        CheckSseAvailable();
        int x = XmmIndex(ins.Op0Register);
        var (low, high) = Read128(ins, 1, aligned: ins.Op1Kind == OpKind.Memory);
        var result = operation(Vector128.Create(Xmm[2 * x], Xmm[(2 * x) + 1]).AsByte(), Vector128.Create(low, high).AsByte()).AsUInt64();
        SetXmm(x, result.GetElement(0), result.GetElement(1));
    }

    private static Vector128<byte> Each8(Vector128<byte> a, Vector128<byte> b, Func<byte, byte, byte> operation)
    {
        Span<byte> result = stackalloc byte[16];
        for (int i = 0; i < 16; i++)
        {
            result[i] = operation(a.GetElement(i), b.GetElement(i));
        }

        return Vector128.Create((ReadOnlySpan<byte>)result);
    }

    private static Vector128<byte> Each16(Vector128<byte> a, Vector128<byte> b, Func<ushort, ushort, ushort> operation)
    {
        Span<ushort> result = stackalloc ushort[8];
        var x = a.AsUInt16();
        var y = b.AsUInt16();
        for (int i = 0; i < 8; i++)
        {
            result[i] = operation(x.GetElement(i), y.GetElement(i));
        }

        return Vector128.Create((ReadOnlySpan<ushort>)result).AsByte();
    }

    private static byte SaturateSByte(int value) => (byte)(sbyte)Math.Clamp(value, sbyte.MinValue, sbyte.MaxValue);

    private static ushort SaturateShort(int value) => (ushort)(short)Math.Clamp(value, short.MinValue, short.MaxValue);

    /// <summary>PMADDWD: each doubleword is the sum of two signed word products (0x8000 × 0x8000 twice wraps to 0x80000000).</summary>
    private static Vector128<byte> MultiplyAdd(Vector128<short> a, Vector128<short> b)
    {
        Span<int> result = stackalloc int[4];
        for (int i = 0; i < 4; i++)
        {
            result[i] = unchecked((a.GetElement(2 * i) * b.GetElement(2 * i)) + (a.GetElement((2 * i) + 1) * b.GetElement((2 * i) + 1)));
        }

        return Vector128.Create((ReadOnlySpan<int>)result).AsByte();
    }

    /// <summary>PSADBW: per quadword, the sum of the eight bytes' absolute differences in the low word, the rest zero.</summary>
    private static Vector128<byte> SumOfAbsoluteDifferences(Vector128<byte> a, Vector128<byte> b)
    {
        ulong low = 0;
        ulong high = 0;
        for (int i = 0; i < 8; i++)
        {
            low += (ulong)Math.Abs(a.GetElement(i) - b.GetElement(i));
            high += (ulong)Math.Abs(a.GetElement(i + 8) - b.GetElement(i + 8));
        }

        return Vector128.Create(low, high).AsByte();
    }

    /// <summary>The packs: a's elements (of <paramref name="size"/> bytes) narrowed into the low half, b's into the high half.</summary>
    private static Vector128<byte> PackNarrowed(Vector128<byte> a, Vector128<byte> b, int size, Func<long, ushort> narrow)
    {
        int count = 16 / size;
        Span<byte> result = stackalloc byte[16];
        int outSize = size / 2;
        for (int i = 0; i < 2 * count; i++)
        {
            var source = i < count ? a : b;
            int index = i % count;
            long element = size == 2 ? source.AsInt16().GetElement(index) : source.AsInt32().GetElement(index);
            ushort narrowed = narrow(element);
            result[i * outSize] = (byte)narrowed;
            if (outSize == 2)
            {
                result[(i * outSize) + 1] = (byte)(narrowed >> 8);
            }
        }

        return Vector128.Create((ReadOnlySpan<byte>)result);
    }

    /// <summary>PUNPCKL*/PUNPCKH*: interleaves the low (or high) halves of a and b in elements of <paramref name="size"/> bytes.</summary>
    private static Vector128<byte> Unpack(Vector128<byte> a, Vector128<byte> b, int size, bool high)
    {
        Span<byte> result = stackalloc byte[16];
        int start = high ? 8 : 0;
        for (int i = 0; i < 8 / size; i++)
        {
            for (int k = 0; k < size; k++)
            {
                result[(2 * i * size) + k] = a.GetElement(start + (i * size) + k);
                result[(((2 * i) + 1) * size) + k] = b.GetElement(start + (i * size) + k);
            }
        }

        return Vector128.Create((ReadOnlySpan<byte>)result);
    }

    /// <summary>PSRLW/D/Q and PSLLW/D/Q by an immediate: counts at or above the element width give zero.</summary>
    private void ShiftImmediate(in Instruction ins, int width, bool left)
    {
        CheckSseAvailable();
        ShiftLogical(ins, width, left, ins.Immediate8);
    }

    /// <summary>The shifts by an XMM register or m128: the count is the source's whole low quadword.</summary>
    private void ShiftByRegister(in Instruction ins, int width, bool left)
    {
        CheckSseAvailable();
        ShiftLogical(ins, width, left, ShiftCount(ins));
    }

    /// <summary>A shift count from an XMM register or aligned m128, saturated to 255 (every count above 63 acts alike).</summary>
    private int ShiftCount(in Instruction ins)
    {
        CheckSseAvailable();
        ulong count = Read128(ins, 1, aligned: true).Low;
        return count > byte.MaxValue ? byte.MaxValue : (int)count;
    }

    /// <summary>PSRAW/PSRAD: counts above the element width fill with the sign bit.</summary>
    private void ShiftArithmetic(in Instruction ins, int width, int count)
    {
        CheckSseAvailable();
        int x = XmmIndex(ins.Op0Register);
        int bits = Math.Min(count, width - 1);
        var value = Vector128.Create(Xmm[2 * x], Xmm[(2 * x) + 1]);
        var result = width == 16
            ? Vector128.ShiftRightArithmetic(value.AsInt16(), bits).AsUInt64()
            : Vector128.ShiftRightArithmetic(value.AsInt32(), bits).AsUInt64();
        SetXmm(x, result.GetElement(0), result.GetElement(1));
    }

    private void ShiftLogical(in Instruction ins, int width, bool left, int count)
    {
        int x = XmmIndex(ins.Op0Register);
        var value = Vector128.Create(Xmm[2 * x], Xmm[(2 * x) + 1]);
        Vector128<ulong> result = count >= width ? Vector128<ulong>.Zero : width switch
        {
            16 => (left ? Vector128.ShiftLeft(value.AsUInt16(), count) : Vector128.ShiftRightLogical(value.AsUInt16(), count)).AsUInt64(),
            32 => (left ? Vector128.ShiftLeft(value.AsUInt32(), count) : Vector128.ShiftRightLogical(value.AsUInt32(), count)).AsUInt64(),
            _ => left ? Vector128.ShiftLeft(value, count) : Vector128.ShiftRightLogical(value, count),
        };
        SetXmm(x, result.GetElement(0), result.GetElement(1));
    }
}
