using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>Guests that use the legacy timer devices (RTC, PIC, PIT) the way Linux and firmware do.</summary>
public static class TimerGuests
{
    /// <summary>RTC index port.</summary>
    public const byte RtcIndexPort = 0x70;

    /// <summary>RTC data port.</summary>
    public const byte RtcDataPort = 0x71;

    /// <summary>RTC register A and its update-in-progress bit.</summary>
    public const byte RtcRegisterA = 0x0A;

    /// <summary>UIP bit of register A.</summary>
    public const byte RtcUipBit = 0x80;

    /// <summary>The registers <see cref="RtcReadTime"/> reads, in report order: seconds, minutes, hours, day, month, year, century.</summary>
    public static readonly byte[] RtcTimeRegisters = [0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32];

    /// <summary>Port the RTC guest writes each decoded (binary) value to, one byte per register.</summary>
    public const ushort ReportPort = 0x510;

    /// <summary>Port the RTC guest writes, as a word, how many times it read register A before UIP was clear.</summary>
    public const ushort UipPollsPort = 0x512;

    /// <summary>Master PIC command and data ports.</summary>
    public const byte PicMasterCommand = 0x20;

    /// <summary>Master PIC data port.</summary>
    public const byte PicMasterData = 0x21;

    /// <summary>Slave PIC command port.</summary>
    public const byte PicSlaveCommand = 0xA0;

    /// <summary>Slave PIC data port.</summary>
    public const byte PicSlaveData = 0xA1;

    /// <summary>Vector the guest gives IRQ 0 (master base, as Linux's real-mode setup and BIOSes use 0x08; 0x20 avoids the exception range).</summary>
    public const byte Irq0Vector = 0x20;

    /// <summary>Slave vector base the guest programs.</summary>
    public const byte SlaveVectorBase = 0x28;

    /// <summary>PIT channel 0 and control ports.</summary>
    public const byte PitChannel0 = 0x40;

    /// <summary>PIT mode/command port.</summary>
    public const byte PitControl = 0x43;

    /// <summary>Channel 0, lobyte/hibyte, mode 2 (rate generator), binary.</summary>
    public const byte PitChannel0Mode2 = 0x34;

    /// <summary>Image offset of the IRQ 0 handler (placed as the image's data).</summary>
    public const ushort HandlerOffset = GuestAssembler.DataOffset;

    /// <summary>Image offset of the tick counter the handler increments.</summary>
    public const ushort TickCounterOffset = GuestAssembler.DataOffset + 0x100;

    private const byte Icw1EdgeCascadeIcw4 = 0x11;
    private const byte MasterIcw3SlaveOnIr2 = 0x04;
    private const byte SlaveIcw3CascadeId = 0x02;
    private const byte Icw4Mode8086 = 0x01;
    private const byte OnlyIrq0Unmasked = 0xFE;
    private const byte OnlyCascadeUnmasked = 0xFB;
    private const byte OnlyRtcUnmasked = 0xFE;
    private const int RtcIrq = 8;
    private const int PicInputs = 8;
    private const byte RtcRegisterB = 0x0B;
    private const byte RtcRegisterC = 0x0C;
    private const byte RtcPieBit = 0x40;
    private const byte RtcDividerNormal = 0x20;
    private const byte AllMasked = 0xFF;
    private const byte NonSpecificEoi = 0x20;
    private const ushort GuestCodeSegment = (ushort)(GuestAssembler.LoadAddress >> 4);
    private const int IvtEntrySize = 4;
    private const byte LowNibble = 0x0F;

    /// <summary>
    /// Reads the RTC as Linux's <c>mc146818_get_time</c> does: waits until register A's UIP bit is
    /// clear, reads the time registers, decodes them from BCD and reports each on
    /// <see cref="ReportPort"/>, then the UIP poll count on <see cref="UipPollsPort"/>, then exits 0.
    /// </summary>
    public static byte[] RtcReadTime() =>
        GuestAssembler.Assemble16(asm =>
        {
            var waitUip = asm.CreateLabel();
            asm.xor(si, si);
            asm.Label(ref waitUip);
            asm.mov(al, RtcRegisterA);
            asm.@out(RtcIndexPort, al);
            asm.@in(al, RtcDataPort);
            asm.inc(si);
            asm.test(al, RtcUipBit);
            asm.jnz(waitUip);

            asm.mov(dx, ReportPort);
            foreach (byte register in RtcTimeRegisters)
            {
                asm.mov(al, register);
                asm.@out(RtcIndexPort, al);
                asm.@in(al, RtcDataPort);
                EmitBcdToBinary(asm);
                asm.@out(dx, al);
            }

            asm.mov(ax, si);
            asm.mov(dx, UipPollsPort);
            asm.@out(dx, ax);
            GuestAssembler.EmitExit(asm, 0);
        });

    /// <summary>
    /// Programs the PIC pair as Linux's <c>init_8259A</c> does (vectors 0x20/0x28, only IRQ 0
    /// unmasked), points vector 0x20 at a handler that counts ticks and sends a non-specific EOI,
    /// starts PIT channel 0 in mode 2 with <paramref name="count"/>, then halts with interrupts on
    /// until <paramref name="ticks"/> timer interrupts have woken it, and exits 0.
    /// </summary>
    public static byte[] PitTicksWakeHaltedCpu(ushort count, ushort ticks) =>
        InterruptCounter(
            Irq0Vector,
            OnlyIrq0Unmasked,
            AllMasked,
            handlerAck: _ => { },
            eoiSlave: false,
            setup: asm =>
            {
                OutByte(asm, PitControl, PitChannel0Mode2);
                OutByte(asm, PitChannel0, (byte)count);
                OutByte(asm, PitChannel0, (byte)(count >> 8));
            },
            ticks);

    /// <summary>
    /// The rtc-cmos way of using IRQ 8: programs the PIC pair (only the cascade and IRQ 8 unmasked),
    /// sets register A's rate select to <paramref name="rate"/> and PIE in register B, and halts until
    /// <paramref name="ticks"/> periodic interrupts arrived through the slave; the handler reads
    /// register C (acknowledging the RTC) and sends EOIs to the slave and the master. Exits 0.
    /// </summary>
    public static byte[] RtcPeriodicInterrupts(byte rate, ushort ticks) =>
        InterruptCounter(
            SlaveVectorBase + (RtcIrq - PicInputs),
            OnlyCascadeUnmasked,
            OnlyRtcUnmasked,
            handlerAck: asm =>
            {
                asm.mov(al, RtcRegisterC);
                asm.@out(RtcIndexPort, al);
                asm.@in(al, RtcDataPort);
            },
            eoiSlave: true,
            setup: asm =>
            {
                OutByte(asm, RtcIndexPort, RtcRegisterA);
                OutByte(asm, RtcDataPort, (byte)(RtcDividerNormal | rate));
                OutByte(asm, RtcIndexPort, RtcRegisterB);
                asm.@in(al, RtcDataPort);
                asm.or(al, RtcPieBit);
                asm.mov(ah, al);
                OutByte(asm, RtcIndexPort, RtcRegisterB);
                asm.mov(al, ah);
                asm.@out(RtcDataPort, al);
                OutByte(asm, RtcIndexPort, RtcRegisterC);
                asm.@in(al, RtcDataPort);
            },
            ticks);

    /// <summary>
    /// Installs a handler for <paramref name="vector"/> that acknowledges its device, counts at
    /// <see cref="TickCounterOffset"/> and sends the EOI(s); initialises the PIC pair with the given
    /// masks, runs <paramref name="setup"/>, then halts with interrupts on until the count reaches
    /// <paramref name="ticks"/>, and exits 0.
    /// </summary>
    private static byte[] InterruptCounter(int vector, byte masterMask, byte slaveMask, Action<Assembler> handlerAck, bool eoiSlave, Action<Assembler> setup, ushort ticks)
    {
        byte[] handler = GuestAssembler.Assemble16(asm =>
        {
            asm.push(ax);
            handlerAck(asm);
            asm.inc(__word_ptr[TickCounterOffset]);
            asm.mov(al, NonSpecificEoi);
            if (eoiSlave)
            {
                asm.@out(PicSlaveCommand, al);
            }

            asm.@out(PicMasterCommand, al);
            asm.pop(ax);
            asm.iret();
        });
        byte[] data = new byte[TickCounterOffset - HandlerOffset + sizeof(ushort)];
        handler.CopyTo(data, 0);

        return GuestAssembler.Assemble16(asm =>
        {
            var idle = asm.CreateLabel();
            asm.cli();
            asm.mov(__word_ptr[TickCounterOffset], 0);

            // IVT entry for the vector: CS:IP of the handler.
            asm.xor(ax, ax);
            asm.mov(es, ax);
            asm.mov(__word_ptr.es[vector * IvtEntrySize], HandlerOffset);
            asm.mov(__word_ptr.es[(vector * IvtEntrySize) + 2], GuestCodeSegment);

            OutByte(asm, PicMasterCommand, Icw1EdgeCascadeIcw4);
            OutByte(asm, PicMasterData, Irq0Vector);
            OutByte(asm, PicMasterData, MasterIcw3SlaveOnIr2);
            OutByte(asm, PicMasterData, Icw4Mode8086);
            OutByte(asm, PicSlaveCommand, Icw1EdgeCascadeIcw4);
            OutByte(asm, PicSlaveData, SlaveVectorBase);
            OutByte(asm, PicSlaveData, SlaveIcw3CascadeId);
            OutByte(asm, PicSlaveData, Icw4Mode8086);
            OutByte(asm, PicMasterData, masterMask);
            OutByte(asm, PicSlaveData, slaveMask);

            setup(asm);

            asm.sti();
            asm.Label(ref idle);
            asm.hlt();
            asm.cmp(__word_ptr[TickCounterOffset], ticks);
            asm.jb(idle);
            asm.cli();
            GuestAssembler.EmitExit(asm, 0);
        },
        data);
    }

    /// <summary>
    /// Drives the UART and the RTC through MMIO at 32-bit addresses (the arm64 platform layout puts
    /// them at 16 MiB, out of reach of real-mode segments, so the guest uses 32-bit address-size
    /// operands with ES = 0; the emulator does not enforce real-mode segment limits, real hardware or KVM
    /// would need unreal mode): reads the RTC seconds register, reports it decoded on
    /// <see cref="ReportPort"/>, writes <paramref name="text"/> to the UART's THR, then exits 0.
    /// </summary>
    public static byte[] RtcAndUartOverMmio(uint uartBase, uint rtcBase, string text) =>
        GuestAssembler.Assemble16(asm =>
        {
            var next = asm.CreateLabel();
            var done = asm.CreateLabel();
            asm.xor(ax, ax);
            asm.mov(es, ax);

            asm.mov(ebx, rtcBase);
            asm.mov(__byte_ptr.es[ebx], RtcTimeRegisters[0]);
            asm.mov(al, __byte_ptr.es[ebx + 1]);
            EmitBcdToBinary(asm);
            asm.mov(dx, ReportPort);
            asm.@out(dx, al);

            asm.mov(ebx, uartBase);
            asm.mov(si, GuestAssembler.DataOffset);
            asm.Label(ref next);
            asm.lodsb();
            asm.test(al, al);
            asm.jz(done);
            asm.mov(__byte_ptr.es[ebx], al);
            asm.jmp(next);
            asm.Label(ref done);
            GuestAssembler.EmitExit(asm, 0);
        },
        System.Text.Encoding.ASCII.GetBytes(text + "\0"));

    private static void OutByte(Assembler asm, byte port, byte value)
    {
        asm.mov(al, value);
        asm.@out(port, al);
    }

    // al = BCD → binary: (al >> 4) * 10 + (al & 0x0F), with shifts and adds only.
    private static void EmitBcdToBinary(Assembler asm)
    {
        asm.mov(bl, al);
        asm.and(bl, LowNibble);
        asm.shr(al, 4);
        asm.mov(ah, al);
        asm.shl(al, 3);
        asm.shl(ah, 1);
        asm.add(al, ah);
        asm.add(al, bl);
    }
}
