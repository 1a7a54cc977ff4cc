using ActorVmm.TestGuests;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Actors.Tests.Fakes;

/// <summary>Real-mode guests for the actor end-to-end tests (assembled with Iced, run by the emulator).</summary>
public static class ActorGuests
{
    /// <summary>The console device's data port (COM1's).</summary>
    public const ushort ConsolePort = 0x3F8;

    /// <summary>The console's line status register (COM1's LSR).</summary>
    public const ushort ConsoleLineStatusPort = ConsolePort + 5;

    /// <summary>LSR bit 5: the transmitter takes a byte (clear while the host console is full).</summary>
    public const byte TransmitterReady = 0x20;

    /// <summary>The flaky test device's port.</summary>
    public const ushort FlakyPort = 0x80;

    /// <summary>The stop switch's port.</summary>
    public const ushort SwitchPort = 0x81;

    /// <summary>
    /// Prints bytes 0, 1, 2, … (mod 256) to the console, one per iteration, each after LSR says the
    /// transmitter is ready (as a polling driver does, so nothing is lost while the host console is full); optionally writes the
    /// flaky device's throw value each iteration; then reads the stop switch and loops until it reads
    /// non-zero, and exits with status 0.
    /// </summary>
    public static byte[] PrintUntilSwitched(bool pokeFlaky) =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            asm.xor(bx, bx);
            asm.Label(ref loop);
            EmitPrint(asm);
            if (pokeFlaky)
            {
                asm.mov(al, FlakyDevice.ThrowValue);
                asm.@out((byte)FlakyPort, al);
            }

            asm.inc(bx);
            asm.@in(al, (byte)SwitchPort);
            asm.test(al, al);
            asm.jz(loop);
            GuestAssembler.EmitExit(asm, 0);
        });

    /// <summary>Prints bytes 0 .. count-1 (mod 256) to the console (polling LSR as above) and exits with <paramref name="status"/>.</summary>
    public static byte[] PrintCount(ushort count, byte status) =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            asm.xor(bx, bx);
            asm.mov(cx, count);
            asm.Label(ref loop);
            EmitPrint(asm);
            asm.inc(bx);
            asm.dec(cx);
            asm.jnz(loop);
            GuestAssembler.EmitExit(asm, status);
        });

    /// <summary>Waits until the console's transmitter is ready, then sends BL.</summary>
    private static void EmitPrint(Iced.Intel.Assembler asm)
    {
        var wait = asm.CreateLabel();
        asm.mov(dx, ConsoleLineStatusPort);
        asm.Label(ref wait);
        asm.@in(al, dx);
        asm.test(al, TransmitterReady);
        asm.jz(wait);
        asm.mov(dx, ConsolePort);
        asm.mov(al, bl);
        asm.@out(dx, al);
    }

    /// <summary>The bytes a printing guest emits in <paramref name="count"/> iterations.</summary>
    public static byte[] ExpectedOutput(int count) => [.. Enumerable.Range(0, count).Select(i => (byte)i)];
}
