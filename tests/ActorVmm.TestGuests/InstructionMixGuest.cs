using System.Text;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A real-mode guest that exercises string, stack, loop, division, bit-scan and locked-memory instructions
/// and reports one 16-bit result per check on <see cref="IoGuests.ResultPort"/>, in the order of <see cref="Check"/>.
/// </summary>
public static class InstructionMixGuest
{
    /// <summary>The source string (16 bytes) at the start of the data area.</summary>
    public const string Source = "ActorVmm string!";

    /// <summary>The byte the REPNE SCASB check looks for.</summary>
    public const char ScanTarget = 'V';

    /// <summary>Index of the byte the copy check reads back from the destination.</summary>
    public const int CopyProbeIndex = 5;

    /// <summary>Index XLATB translates.</summary>
    public const int XlatIndex = 3;

    /// <summary>The word REP STOSW stores.</summary>
    public const ushort FillWord = 0xABCD;

    /// <summary>Words REP STOSW stores.</summary>
    public const int FillWords = 8;

    /// <summary>LOOP sums 1..<see cref="LoopCount"/>.</summary>
    public const ushort LoopCount = 10;

    /// <summary>First stack argument of the ENTER/LEAVE function.</summary>
    public const ushort ArgumentA = 1200;

    /// <summary>Second stack argument of the ENTER/LEAVE function.</summary>
    public const ushort ArgumentB = 34;

    /// <summary>DIV dividend (AX).</summary>
    public const ushort Dividend = 1000;

    /// <summary>DIV divisor (BL).</summary>
    public const byte Divisor = 7;

    /// <summary>Operand of BSF/BSR.</summary>
    public const ushort BitPattern = 0b0000_0100_1001_0000;

    /// <summary>Initial memory word for XADD.</summary>
    public const ushort XaddMemory = 5;

    /// <summary>Register operand of XADD.</summary>
    public const ushort XaddRegister = 3;

    /// <summary>Value CMPXCHG stores when the compare succeeds.</summary>
    public const ushort CmpxchgNew = 100;

    /// <summary>IMUL three-operand factors.</summary>
    public const short ImulFactor = -3;

    /// <summary>IMUL three-operand register input.</summary>
    public const short ImulInput = 1234;

    /// <summary>What each reported word means, in report order.</summary>
    public enum Check
    {
        /// <summary>CX after REP MOVSB then REPE CMPSB over equal buffers.</summary>
        CompareRemaining,

        /// <summary>Destination byte <see cref="CopyProbeIndex"/> after the copy.</summary>
        CopiedByte,

        /// <summary>DI offset past the byte REPNE SCASB found.</summary>
        ScanOffset,

        /// <summary>Last word written by REP STOSW.</summary>
        FilledWord,

        /// <summary>DI offset after REP STOSW.</summary>
        FillEnd,

        /// <summary>Sum from LOOP.</summary>
        LoopSum,

        /// <summary>Result of the ENTER/LEAVE function.</summary>
        CallResult,

        /// <summary>AX after DIV (remainder in AH, quotient in AL).</summary>
        DivResult,

        /// <summary>BSF of <see cref="BitPattern"/>.</summary>
        ForwardScan,

        /// <summary>BSR of <see cref="BitPattern"/>.</summary>
        ReverseScan,

        /// <summary>Register after XADD (old memory value).</summary>
        XaddOld,

        /// <summary>Memory after XADD.</summary>
        XaddSum,

        /// <summary>Memory after a successful CMPXCHG.</summary>
        CmpxchgStored,

        /// <summary>IMUL three-operand result.</summary>
        ImulResult,

        /// <summary>XLATB of <see cref="XlatIndex"/>.</summary>
        Translated,
    }

    private const ushort SourceOffset = GuestAssembler.DataOffset;
    private const ushort CopyOffset = GuestAssembler.DataOffset + 0x20;
    private const ushort FillOffset = GuestAssembler.DataOffset + 0x40;
    private const ushort ScratchOffset = GuestAssembler.DataOffset + 0x60;
    private const int DataSize = 0x70;

    /// <summary>Builds the image.</summary>
    public static byte[] Build()
    {
        byte[] data = new byte[DataSize];
        Encoding.ASCII.GetBytes(Source).CopyTo(data, 0);
        return GuestAssembler.Assemble16WithLabels(
            (asm, address) =>
            {
                var function = asm.CreateLabel("function");
                var loop = asm.CreateLabel();
                asm.cld();
                asm.mov(si, SourceOffset);
                asm.mov(di, CopyOffset);
                asm.mov(cx, (ushort)Source.Length);
                asm.rep.movsb();
                asm.mov(si, SourceOffset);
                asm.mov(di, CopyOffset);
                asm.mov(cx, (ushort)Source.Length);
                asm.repe.cmpsb();
                ReportRegister(asm, cx);
                asm.movzx(ax, __byte_ptr[CopyOffset + CopyProbeIndex]);
                Report(asm);

                asm.mov(di, SourceOffset);
                asm.mov(cx, (ushort)Source.Length);
                asm.mov(al, (byte)ScanTarget);
                asm.repne.scasb();
                asm.sub(di, SourceOffset);
                ReportRegister(asm, di);

                asm.mov(di, FillOffset);
                asm.mov(ax, FillWord);
                asm.mov(cx, (ushort)FillWords);
                asm.rep.stosw();
                asm.mov(ax, __word_ptr[FillOffset + ((FillWords - 1) * 2)]);
                Report(asm);
                asm.sub(di, FillOffset);
                ReportRegister(asm, di);

                asm.xor(ax, ax);
                asm.mov(cx, LoopCount);
                asm.Label(ref loop);
                asm.add(ax, cx);
                asm.loop(loop);
                Report(asm);

                asm.push(ArgumentB);
                asm.push(ArgumentA);
                asm.call(function);
                asm.add(sp, 4);
                Report(asm);

                asm.mov(ax, Dividend);
                asm.mov(bl, Divisor);
                asm.div(bl);
                Report(asm);

                asm.mov(ax, BitPattern);
                asm.bsf(cx, ax);
                ReportRegister(asm, cx);
                asm.mov(ax, BitPattern);
                asm.bsr(cx, ax);
                ReportRegister(asm, cx);

                asm.mov(__word_ptr[ScratchOffset], XaddMemory);
                asm.mov(ax, XaddRegister);
                asm.@lock.xadd(__word_ptr[ScratchOffset], ax);
                Report(asm);
                asm.mov(ax, __word_ptr[ScratchOffset]);
                Report(asm);
                asm.mov(bx, CmpxchgNew);
                asm.@lock.cmpxchg(__word_ptr[ScratchOffset], bx);
                asm.mov(ax, __word_ptr[ScratchOffset]);
                Report(asm);

                asm.mov(bx, (ushort)ImulInput);
                asm.imul(ax, bx, ImulFactor);
                Report(asm);

                asm.mov(bx, SourceOffset);
                asm.mov(al, (byte)XlatIndex);
                asm.xlatb();
                asm.xor(ah, ah);
                Report(asm);
                GuestAssembler.EmitExit(asm, 0);

                // function(a, b): ENTER with one local, a + b via the local, LEAVE, RET.
                asm.Label(ref function);
                asm.enter(2, 0);
                asm.mov(ax, __word_ptr[bp + 4]);
                asm.add(ax, __word_ptr[bp + 6]);
                asm.mov(__word_ptr[bp - 2], ax);
                asm.xor(ax, ax);
                asm.mov(ax, __word_ptr[bp - 2]);
                asm.leave();
                asm.ret();
                _ = address;
                return [function];
            },
            data);
    }

    private static void ReportRegister(Assembler asm, AssemblerRegister16 register)
    {
        asm.mov(ax, register);
        Report(asm);
    }

    private static void Report(Assembler asm)
    {
        asm.mov(dx, IoGuests.ResultPort);
        asm.@out(dx, ax);
    }
}
