using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>The guest library: small flat binaries used across backends and devices.</summary>
public static class Guests
{
    /// <summary>COM1 data port.</summary>
    public const ushort Com1 = 0x3F8;

    /// <summary>Writes <paramref name="text"/> byte by byte to COM1's THR with OUT, then exits with <paramref name="status"/>.</summary>
    public static byte[] SerialHello(string text = "Hello from the guest\n", byte status = 0) =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            var done = asm.CreateLabel();
            asm.mov(si, GuestAssembler.DataOffset);
            asm.mov(dx, Com1);
            asm.Label(ref loop);
            asm.lodsb();
            asm.test(al, al);
            asm.jz(done);
            asm.@out(dx, al);
            asm.jmp(loop);
            asm.Label(ref done);
            GuestAssembler.EmitExit(asm, status);
        },
        System.Text.Encoding.ASCII.GetBytes(text + "\0"));
}
