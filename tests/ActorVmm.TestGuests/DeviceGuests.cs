using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// Guests that drive the legacy devices the way Linux's drivers do: the 8250 autoconfig probe, a UART
/// transmit/receive with interrupts, and the i8042 self-test and reset pulse. 16-bit real-mode flat binaries.
/// </summary>
public static class DeviceGuests
{
    // ---- UART register offsets and values (PC16550D datasheet) ----------------------------------------
    private const ushort Rbr = 0, Thr = 0, Dll = 0, Ier = 1, Dlm = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6;
    private const byte LcrDlab = 0x80, LcrConfigB = 0xBF, Lcr8N1 = 0x03;
    private const byte McrLoopOut2Rts = 0x1A, McrLoop = 0x10, McrDtrRtsOut2 = 0x0B;
    private const byte MsrLines = 0xF0, MsrLoopExpected = 0x90;
    private const byte FcrEnable = 0x01, FcrEnable64 = 0x21, FcrEnableClearAll = 0x07, FcrEnableClearTrigger8 = 0x87;
    private const byte IerLowNibble = 0x0F, IerUue = 0x40, IerReceivedData = 0x01;
    private const byte IirNoInterrupt = 0x01;
    private const byte LsrDataReady = 0x01, LsrThrEmpty = 0x20;
    private const int IirFifoShift = 6, Iir64Shift = 5;
    private const byte IirFifoBoth = 3, Ti16750NoDlab = 6, Ti16750Dlab = 7;
    private const ushort SizeFifoBytes = 256;
    private const ushort Uart16550AFifo = 16;

    // ---- 8259A (so the guest also runs against the real PIC) ------------------------------------------
    private const ushort PicCommand = 0x20, PicData = 0x21;
    private const byte Icw1EdgeCascadeIcw4 = 0x11, Icw3SlaveOnIrq2 = 0x04, Icw4Mode8086 = 0x01, OcwNonSpecificEoi = 0x20;

    /// <summary>Vector base the guest programs into the master 8259 (ICW2), as PC firmware does.</summary>
    public const byte MasterPicVectorBase = 0x08;

    // ---- i8042 ----------------------------------------------------------------------------------------
    private const ushort KbcData = 0x60, KbcCommand = 0x64;
    private const byte KbcStatusOutputFull = 0x01, KbcStatusInputFull = 0x02;
    private const byte KbcSelfTest = 0xAA, KbcSelfTestOk = 0x55, KbcKbdTest = 0xAB, KbcAuxTest = 0xA9, KbcTestOk = 0x00;
    private const byte KbcWriteCtr = 0x60, KbcReadCtr = 0x20, KbcPulseReset = 0xFE;
    private const byte KbdReset = 0xFF, KbdAck = 0xFA, KbdSelfTestOk = 0xAA;
    private const ushort KbcPollLimit = 0xFFFF;
    private const ushort SpinAfterReset = 0x4000;

    /// <summary>The command byte the i8042 guest writes and reads back: system flag and translation, interrupts off.</summary>
    public const byte I8042GuestCommandByte = 0x44;

    // ---- Exit statuses ----------------------------------------------------------------------------------

    /// <summary>Probe result: the UART passed every step and is a 16550A.</summary>
    public const byte ProbeIs16550A = 0;

    /// <summary>Probe result: IER did not read back 0 and 0x0F (no UART).</summary>
    public const byte ProbeFailedIerTest = 1;

    /// <summary>Probe result: loopback did not map OUT2/RTS to DCD/CTS.</summary>
    public const byte ProbeFailedLoopTest = 2;

    /// <summary>Probe result: IIR bits 6..7 were not both set with FIFOs enabled (8250/16450/16550).</summary>
    public const byte ProbeNoWorkingFifo = 3;

    /// <summary>Probe result: offset 2 read 0 with LCR = 0x80 or 0xBF (an EFR: 16650 class).</summary>
    public const byte ProbeHasEfr = 4;

    /// <summary>Probe result: IIR bit 5 followed FCR bit 5 (a TI16750).</summary>
    public const byte ProbeIs16750 = 5;

    /// <summary>Probe result: IER bit 6 stuck (an XScale UART).</summary>
    public const byte ProbeIsXScale = 6;

    /// <summary>Probe result: the loopback FIFO did not hold exactly 16 bytes.</summary>
    public const byte ProbeWrongFifoSize = 7;

    /// <summary>i8042 guest: the controller self-test did not answer 0x55.</summary>
    public const byte KbcFailedSelfTest = 1;

    /// <summary>i8042 guest: an interface test did not answer 0x00.</summary>
    public const byte KbcFailedInterfaceTest = 2;

    /// <summary>i8042 guest: the command byte did not read back.</summary>
    public const byte KbcFailedCommandByte = 3;

    /// <summary>i8042 guest: keyboard reset did not answer 0xFA 0xAA.</summary>
    public const byte KbcFailedKeyboardReset = 4;

    /// <summary>i8042 guest: the controller never filled its output buffer.</summary>
    public const byte KbcTimedOut = 5;

    /// <summary>i8042 guest: still running well after the 0xFE reset pulse (no reset happened).</summary>
    public const byte KbcNoResetAfterPulse = 6;

    // ---- Echo guest layout --------------------------------------------------------------------------------

    /// <summary>Where the echo guest's interrupt handler is placed in the image.</summary>
    public const ushort EchoIsrOffset = 0x600;

    /// <summary>Offset (from <see cref="GuestAssembler.DataOffset"/>) of the received-byte count (a word).</summary>
    public const ushort EchoCountOffset = 0x100;

    /// <summary>Offset of the "newline received" flag.</summary>
    public const ushort EchoDoneOffset = 0x102;

    /// <summary>Offset of the receive buffer.</summary>
    public const ushort EchoBufferOffset = 0x110;

    /// <summary>Capacity of the receive buffer; longer input is echoed but not stored.</summary>
    public const ushort EchoBufferSize = 0xF0;

    /// <summary>Longest greeting the echo guest accepts (it lives below the count word).</summary>
    public const int EchoMaxGreeting = EchoCountOffset - 1;

    private const ushort EchoDataSize = EchoBufferOffset + EchoBufferSize;
    private const byte Newline = (byte)'\n';
    private const ushort IvtEntrySize = 4;
    private const ushort GuestCodeSegment = (ushort)(GuestAssembler.LoadAddress >> 4);

    /// <summary>
    /// Replays the decisions of Linux's 8250 <c>autoconfig()</c> / <c>autoconfig_16550a()</c> / <c>size_fifo()</c>
    /// against the UART at <paramref name="basePort"/> and exits with one of the <c>Probe*</c> statuses.
    /// </summary>
    public static byte[] Uart16550Probe(ushort basePort = Guests.Com1) =>
        GuestAssembler.Assemble16(asm =>
        {
            var failIer = asm.CreateLabel();
            var failLoop = asm.CreateLabel();
            var failFifo = asm.CreateLabel();
            var failEfr = asm.CreateLabel();
            var fail16750 = asm.CreateLabel();
            var failXScale = asm.CreateLabel();
            var failSize = asm.CreateLabel();
            var not16750 = asm.CreateLabel();
            var fill = asm.CreateLabel();
            var drain = asm.CreateLabel();
            var drained = asm.CreateLabel();

            // Existence: IER reads back 0, then 0x0F.
            Out(asm, basePort, Ier, 0);
            In(asm, basePort, Ier);
            asm.and(al, IerLowNibble);
            asm.jnz(failIer);
            Out(asm, basePort, Ier, IerLowNibble);
            In(asm, basePort, Ier);
            asm.and(al, IerLowNibble);
            asm.cmp(al, IerLowNibble);
            asm.jne(failIer);
            Out(asm, basePort, Ier, 0);

            // Loopback: MCR = LOOP | OUT2 | RTS must read MSR lines DCD | CTS.
            Out(asm, basePort, Mcr, McrLoopOut2Rts);
            In(asm, basePort, Msr);
            asm.and(al, MsrLines);
            asm.cmp(al, MsrLoopExpected);
            asm.jne(failLoop);
            Out(asm, basePort, Mcr, 0);

            // FIFO: clear EFR through LCR = 0xBF, enable FIFOs, IIR bits 6..7 must both be set.
            Out(asm, basePort, Lcr, LcrConfigB);
            Out(asm, basePort, Fcr, 0);
            Out(asm, basePort, Lcr, 0);
            Out(asm, basePort, Fcr, FcrEnable);
            In(asm, basePort, Iir);
            asm.shr(al, IirFifoShift);
            asm.cmp(al, IirFifoBoth);
            asm.jne(failFifo);

            // No EFR: offset 2 must not read 0 with LCR = 0x80 or LCR = 0xBF.
            Out(asm, basePort, Lcr, LcrDlab);
            In(asm, basePort, Iir);
            asm.test(al, al);
            asm.jz(failEfr);
            Out(asm, basePort, Lcr, LcrConfigB);
            In(asm, basePort, Iir);
            asm.test(al, al);
            asm.jz(failEfr);

            // TI16750: IIR bit 5 must not follow FCR bit 5.
            Out(asm, basePort, Lcr, 0);
            Out(asm, basePort, Fcr, FcrEnable64);
            In(asm, basePort, Iir);
            asm.shr(al, Iir64Shift);
            asm.mov(bl, al);
            Out(asm, basePort, Fcr, FcrEnable);
            Out(asm, basePort, Lcr, LcrDlab);
            Out(asm, basePort, Fcr, FcrEnable64);
            In(asm, basePort, Iir);
            asm.shr(al, Iir64Shift);
            asm.mov(bh, al);
            Out(asm, basePort, Fcr, FcrEnable);
            Out(asm, basePort, Lcr, 0);
            asm.cmp(bl, Ti16750NoDlab);
            asm.jne(not16750);
            asm.cmp(bh, Ti16750Dlab);
            asm.je(fail16750);
            asm.Label(ref not16750);

            // XScale: IER bit 6 must not stick.
            Out(asm, basePort, Ier, IerUue);
            In(asm, basePort, Ier);
            asm.test(al, IerUue);
            asm.jnz(failXScale);
            Out(asm, basePort, Ier, 0);

            // size_fifo: 256 bytes into THR in loopback, count what comes back.
            Out(asm, basePort, Fcr, FcrEnableClearAll);
            Out(asm, basePort, Mcr, McrLoop);
            Out(asm, basePort, Lcr, LcrDlab);
            Out(asm, basePort, Dll, 1);
            Out(asm, basePort, Dlm, 0);
            Out(asm, basePort, Lcr, Lcr8N1);
            asm.mov(cx, SizeFifoBytes);
            asm.xor(bl, bl);
            asm.mov(dx, (ushort)(basePort + Thr));
            asm.Label(ref fill);
            asm.mov(al, bl);
            asm.@out(dx, al);
            asm.inc(bl);
            asm.dec(cx);
            asm.jnz(fill);
            asm.xor(cx, cx);
            asm.Label(ref drain);
            In(asm, basePort, Lsr);
            asm.test(al, LsrDataReady);
            asm.jz(drained);
            In(asm, basePort, Rbr);
            asm.inc(cx);
            asm.cmp(cx, SizeFifoBytes);
            asm.jb(drain);
            asm.Label(ref drained);
            Out(asm, basePort, Mcr, 0);
            Out(asm, basePort, Fcr, 0);
            asm.cmp(cx, Uart16550AFifo);
            asm.jne(failSize);
            GuestAssembler.EmitExit(asm, ProbeIs16550A);

            ExitAt(asm, ref failIer, ProbeFailedIerTest);
            ExitAt(asm, ref failLoop, ProbeFailedLoopTest);
            ExitAt(asm, ref failFifo, ProbeNoWorkingFifo);
            ExitAt(asm, ref failEfr, ProbeHasEfr);
            ExitAt(asm, ref fail16750, ProbeIs16750);
            ExitAt(asm, ref failXScale, ProbeIsXScale);
            ExitAt(asm, ref failSize, ProbeWrongFifoSize);
        });

    /// <summary>
    /// Programs the master 8259 (vector base 0x08, only <paramref name="irq"/> unmasked), installs an interrupt handler,
    /// sets the UART up as Linux does (8N1, FIFOs with trigger 8, DTR | RTS | OUT2, receive interrupt), transmits
    /// <paramref name="greeting"/> by polling THRE, then waits with interrupts on. The handler drains the receive
    /// FIFO, stores and echoes each byte, and sends EOI; after a newline the guest exits with the number of bytes
    /// received.
    /// </summary>
    public static byte[] UartEchoWithInterrupts(string greeting, ushort basePort = Guests.Com1, byte irq = 4)
    {
        ArgumentNullException.ThrowIfNull(greeting);
        if (greeting.Length > EchoMaxGreeting || greeting.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The greeting must be at most {EchoMaxGreeting} characters without NUL", nameof(greeting));
        }

        ushort vector = (ushort)(MasterPicVectorBase + irq);
        byte[] main = GuestAssembler.Assemble16(asm =>
        {
            var tx = asm.CreateLabel();
            var waitThre = asm.CreateLabel();
            var txDone = asm.CreateLabel();
            var wait = asm.CreateLabel();

            asm.cli();

            // IVT entry for the UART's vector: 0000:vector*4 = CS:EchoIsrOffset.
            asm.xor(ax, ax);
            asm.mov(es, ax);
            asm.mov(__word_ptr.es[vector * IvtEntrySize], EchoIsrOffset);
            asm.mov(__word_ptr.es[(vector * IvtEntrySize) + 2], GuestCodeSegment);

            // 8259: ICW1..ICW4, then mask everything but the UART's line.
            OutPort(asm, PicCommand, Icw1EdgeCascadeIcw4);
            OutPort(asm, PicData, MasterPicVectorBase);
            OutPort(asm, PicData, Icw3SlaveOnIrq2);
            OutPort(asm, PicData, Icw4Mode8086);
            OutPort(asm, PicData, (byte)~(1 << irq));

            // UART: 115200 8N1, FIFOs on with trigger 8, modem lines and OUT2 up, clear stale state, RX interrupt.
            Out(asm, basePort, Lcr, LcrDlab);
            Out(asm, basePort, Dll, 1);
            Out(asm, basePort, Dlm, 0);
            Out(asm, basePort, Lcr, Lcr8N1);
            Out(asm, basePort, Fcr, FcrEnableClearTrigger8);
            Out(asm, basePort, Mcr, McrDtrRtsOut2);
            In(asm, basePort, Lsr);
            In(asm, basePort, Rbr);
            In(asm, basePort, Iir);
            In(asm, basePort, Msr);
            asm.mov(__word_ptr[GuestAssembler.DataOffset + EchoCountOffset], 0);
            asm.mov(__byte_ptr[GuestAssembler.DataOffset + EchoDoneOffset], 0);
            Out(asm, basePort, Ier, IerReceivedData);

            // Transmit the greeting, polling THRE before each byte as the 8250 console does.
            asm.mov(si, GuestAssembler.DataOffset);
            asm.Label(ref tx);
            asm.lodsb();
            asm.test(al, al);
            asm.jz(txDone);
            asm.mov(ah, al);
            asm.Label(ref waitThre);
            In(asm, basePort, Lsr);
            asm.test(al, LsrThrEmpty);
            asm.jz(waitThre);
            asm.mov(al, ah);
            asm.mov(dx, (ushort)(basePort + Thr));
            asm.@out(dx, al);
            asm.jmp(tx);
            asm.Label(ref txDone);

            // Wait with interrupts on until the handler saw a newline.
            asm.sti();
            asm.Label(ref wait);
            asm.cmp(__byte_ptr[GuestAssembler.DataOffset + EchoDoneOffset], 0);
            asm.je(wait);
            asm.cli();
            asm.mov(al, __byte_ptr[GuestAssembler.DataOffset + EchoCountOffset]);
            asm.@out((byte)GuestAssembler.ExitPort, al);
            var halt = asm.CreateLabel();
            asm.Label(ref halt);
            asm.hlt();
            asm.jmp(halt);
        });

        byte[] isr = GuestAssembler.Assemble16(asm =>
        {
            var next = asm.CreateLabel();
            var rx = asm.CreateLabel();
            var noStore = asm.CreateLabel();
            var done = asm.CreateLabel();

            asm.push(ax);
            asm.push(bx);
            asm.push(dx);
            asm.Label(ref next);
            In(asm, basePort, Iir);
            asm.test(al, IirNoInterrupt);
            asm.jnz(done);
            asm.Label(ref rx);
            In(asm, basePort, Lsr);
            asm.test(al, LsrDataReady);
            asm.jz(next);
            In(asm, basePort, Rbr);
            asm.mov(bx, __word_ptr[GuestAssembler.DataOffset + EchoCountOffset]);
            asm.cmp(bx, EchoBufferSize);
            asm.jae(noStore);
            asm.mov(__byte_ptr[bx + GuestAssembler.DataOffset + EchoBufferOffset], al);
            asm.inc(__word_ptr[GuestAssembler.DataOffset + EchoCountOffset]);
            asm.Label(ref noStore);
            asm.mov(dx, (ushort)(basePort + Thr));
            asm.@out(dx, al);
            asm.cmp(al, Newline);
            asm.jne(rx);
            asm.mov(__byte_ptr[GuestAssembler.DataOffset + EchoDoneOffset], 1);
            asm.jmp(rx);
            asm.Label(ref done);
            OutPort(asm, PicCommand, OcwNonSpecificEoi);
            asm.pop(dx);
            asm.pop(bx);
            asm.pop(ax);
            asm.iret();
        });

        byte[] data = new byte[EchoDataSize];
        System.Text.Encoding.ASCII.GetBytes(greeting).CopyTo(data, 0);
        return Compose(main, isr, data);
    }

    /// <summary>
    /// Drives the i8042 as Linux and firmware do: controller self-test, keyboard and aux interface tests, command byte
    /// write and read-back, keyboard reset, then the 0xFE pulse-reset command. A VM that resets never runs on; one
    /// that does not exits with <see cref="KbcNoResetAfterPulse"/>. Failures exit with the <c>Kbc*</c> statuses.
    /// </summary>
    public static byte[] I8042SelfTestAndReset() =>
        GuestAssembler.Assemble16(asm =>
        {
            var waitOutput = asm.CreateLabel();
            var failSelfTest = asm.CreateLabel();
            var failInterface = asm.CreateLabel();
            var failCtr = asm.CreateLabel();
            var failKbd = asm.CreateLabel();
            var spin = asm.CreateLabel();

            KbcCommandAndExpect(asm, KbcSelfTest, KbcSelfTestOk, waitOutput, failSelfTest);
            KbcCommandAndExpect(asm, KbcKbdTest, KbcTestOk, waitOutput, failInterface);
            KbcCommandAndExpect(asm, KbcAuxTest, KbcTestOk, waitOutput, failInterface);

            KbcWrite(asm, KbcCommand, KbcWriteCtr);
            KbcWrite(asm, KbcData, I8042GuestCommandByte);
            KbcCommandAndExpect(asm, KbcReadCtr, I8042GuestCommandByte, waitOutput, failCtr);

            KbcWrite(asm, KbcData, KbdReset);
            asm.call(waitOutput);
            asm.cmp(al, KbdAck);
            asm.jne(failKbd);
            asm.call(waitOutput);
            asm.cmp(al, KbdSelfTestOk);
            asm.jne(failKbd);

            // The reset pulse: on a PC the CPU restarts here.
            KbcWrite(asm, KbcCommand, KbcPulseReset);
            asm.mov(cx, SpinAfterReset);
            asm.Label(ref spin);
            asm.dec(cx);
            asm.jnz(spin);
            GuestAssembler.EmitExit(asm, KbcNoResetAfterPulse);

            ExitAt(asm, ref failSelfTest, KbcFailedSelfTest);
            ExitAt(asm, ref failInterface, KbcFailedInterfaceTest);
            ExitAt(asm, ref failCtr, KbcFailedCommandByte);
            ExitAt(asm, ref failKbd, KbcFailedKeyboardReset);

            // waitOutput: poll OBF a bounded number of times, then read port 0x60 into AL.
            var poll = asm.CreateLabel();
            var ready = asm.CreateLabel();
            var timedOut = asm.CreateLabel();
            asm.Label(ref waitOutput);
            asm.mov(cx, KbcPollLimit);
            asm.Label(ref poll);
            asm.@in(al, (byte)KbcCommand);
            asm.test(al, KbcStatusOutputFull);
            asm.jnz(ready);
            asm.dec(cx);
            asm.jnz(poll);
            asm.jmp(timedOut);
            asm.Label(ref ready);
            asm.@in(al, (byte)KbcData);
            asm.ret();
            ExitAt(asm, ref timedOut, KbcTimedOut);
        });

    private static void KbcCommandAndExpect(Assembler asm, byte command, byte expected, Label waitOutput, Label fail)
    {
        KbcWrite(asm, KbcCommand, command);
        asm.call(waitOutput);
        asm.cmp(al, expected);
        asm.jne(fail);
    }

    /// <summary>Waits for the input buffer to drain (IBF clear), then writes <paramref name="value"/> to <paramref name="port"/>.</summary>
    private static void KbcWrite(Assembler asm, ushort port, byte value)
    {
        var wait = asm.CreateLabel();
        asm.Label(ref wait);
        asm.@in(al, (byte)KbcCommand);
        asm.test(al, KbcStatusInputFull);
        asm.jnz(wait);
        asm.mov(al, value);
        asm.@out((byte)port, al);
    }

    private static void Out(Assembler asm, ushort basePort, ushort register, byte value) => OutPort(asm, (ushort)(basePort + register), value);

    private static void OutPort(Assembler asm, ushort port, byte value)
    {
        asm.mov(dx, port);
        asm.mov(al, value);
        asm.@out(dx, al);
    }

    private static void In(Assembler asm, ushort basePort, ushort register)
    {
        asm.mov(dx, (ushort)(basePort + register));
        asm.@in(al, dx);
    }

    private static void ExitAt(Assembler asm, ref Label label, byte status)
    {
        asm.Label(ref label);
        GuestAssembler.EmitExit(asm, status);
    }

    /// <summary>Main code at 0, the handler at <see cref="EchoIsrOffset"/>, data at <see cref="GuestAssembler.DataOffset"/>.</summary>
    private static byte[] Compose(byte[] main, byte[] isr, byte[] data)
    {
        if (main.Length > EchoIsrOffset || EchoIsrOffset + isr.Length > GuestAssembler.DataOffset)
        {
            throw new InvalidOperationException($"Guest code ({main.Length} bytes) or handler ({isr.Length} bytes) overflows its slot");
        }

        byte[] image = new byte[GuestAssembler.DataOffset + data.Length];
        main.CopyTo(image, 0);
        isr.CopyTo(image, EchoIsrOffset);
        data.CopyTo(image, GuestAssembler.DataOffset);
        return image;
    }
}
