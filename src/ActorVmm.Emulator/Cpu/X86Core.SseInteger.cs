using System.Runtime.Intrinsics;
using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// The SSE2 packed-integer instructions glibc's startup and string functions use: unpacks, PSHUFD, compares for
/// equality and signed greater-than, PMOVMSKB, unsigned byte min/max, add/subtract, shifts by an immediate, and the half-register moves
/// (MOVHPS/MOVLPS/MOVHPD/MOVLPD, MOVLHPS/MOVHLPS). Computed with the portable
/// <see cref="Vector128"/> API on the register's two quadwords.
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
        int x = XmmIndex(ins.Op0Register);
        int count = ins.Immediate8;
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
