using ActorVmm.Devices.I8042;
using ActorVmm.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Host.Tests.TestImages;

/// <summary>Guests the host tests need besides the shared library's.</summary>
internal static class HostGuests
{
    /// <summary>A guest that never ends by itself: it spins writing the POST port, so it can be listed, paused, resumed and stopped.</summary>
    public static byte[] Spinner() =>
        GuestAssembler.Assemble16(asm =>
        {
            const byte PostPort = 0x80;
            var loop = asm.CreateLabel();
            asm.Label(ref loop);
            asm.@out(PostPort, al);
            asm.jmp(loop);
        });

    /// <summary>Writes one byte to a port no device claims, then exits with status 0.</summary>
    public static byte[] WriteUnclaimedPort(ushort port) =>
        GuestAssembler.Assemble16(asm =>
        {
            asm.mov(dx, port);
            asm.mov(al, 0x5A);
            asm.@out(dx, al);
            GuestAssembler.EmitExit(asm, 0);
        });

    /// <summary>Waits for one byte on COM1 (polling LSR.DR like a driver) and exits with it as its status.</summary>
    public static byte[] ExitWithTypedByte() =>
        GuestAssembler.Assemble16(asm =>
        {
            const ushort Lsr = Guests.Com1 + 5;
            const byte DataReady = 0b0000_0001;
            var wait = asm.CreateLabel();
            asm.mov(dx, Lsr);
            asm.Label(ref wait);
            asm.@in(al, dx);
            asm.test(al, DataReady);
            asm.jz(wait);
            asm.mov(dx, Guests.Com1);
            asm.@in(al, dx);
            asm.@out((byte)GuestAssembler.ExitPort, al);
            asm.hlt();
        });

    /// <summary>Prints <paramref name="text"/> on COM1, then pulses the i8042 reset line (what Linux's reboot=k does).</summary>
    public static byte[] PrintThenReset(string text) =>
        GuestAssembler.Assemble16(asm =>
        {
            var halt = asm.CreateLabel();
            asm.mov(dx, Guests.Com1);
            foreach (char c in text)
            {
                asm.mov(al, (byte)c);
                asm.@out(dx, al);
            }

            asm.mov(al, I8042Registers.CmdPulseReset);
            asm.@out((byte)I8042Registers.CommandPort, al);
            asm.Label(ref halt);
            asm.hlt();
            asm.jmp(halt);
        });

    /// <summary>
    /// Prints <paramref name="count"/> bytes of <see cref="PatternByte"/> on COM1, each after LSR says THR is empty (as a
    /// polling driver does, so a stalled host console holds it back instead of losing bytes), then exits with <paramref name="status"/>.
    /// </summary>
    public static byte[] PrintPattern(uint count, byte status) =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            asm.xor(ecx, ecx);
            asm.Label(ref loop);
            EmitSendPatternByte(asm);
            asm.inc(ecx);
            asm.cmp(ecx, count);
            asm.jb(loop);
            GuestAssembler.EmitExit(asm, status);
        });

    /// <summary>Prints <see cref="PatternByte"/> bytes on COM1 without end (polling THRE like <see cref="PrintPattern"/>).</summary>
    public static byte[] PrintForever() =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            asm.xor(ecx, ecx);
            asm.Label(ref loop);
            EmitSendPatternByte(asm);
            asm.inc(ecx);
            asm.jmp(loop);
        });

    /// <summary>The byte the printing guests send as their <paramref name="index"/>-th: not periodic at any power of two below 64 KiB.</summary>
    public static byte PatternByte(long index) => (byte)(index + (index >> 8));

    /// <summary>The bytes <see cref="PrintPattern"/> sends.</summary>
    public static byte[] ExpectedPattern(int count) => [.. Enumerable.Range(0, count).Select(i => PatternByte(i))];

    /// <summary>A guest that executes an undefined instruction (UD2) with no IDT: the VM dies.</summary>
    public static byte[] Crasher() => GuestAssembler.Assemble16(asm => asm.ud2());

    /// <summary>Waits for LSR.THRE, then sends the pattern byte for the index in ECX (CL + CH).</summary>
    private static void EmitSendPatternByte(Iced.Intel.Assembler asm)
    {
        const ushort Lsr = Guests.Com1 + 5;
        const byte ThrEmpty = 0b0010_0000;
        var wait = asm.CreateLabel();
        asm.mov(dx, Lsr);
        asm.Label(ref wait);
        asm.@in(al, dx);
        asm.test(al, ThrEmpty);
        asm.jz(wait);
        asm.mov(al, cl);
        asm.add(al, ch);
        asm.mov(dx, Guests.Com1);
        asm.@out(dx, al);
    }
}
