using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>Guests that exercise port I/O and MMIO exits (16-bit real mode flat binaries).</summary>
public static class IoGuests
{
    /// <summary>A port the test's device answers reads on.</summary>
    public const ushort DevicePort = 0x500;

    /// <summary>A port the guest writes its results to.</summary>
    public const ushort ResultPort = 0x504;

    /// <summary>Real-mode segment of <see cref="MmioBase"/>.</summary>
    public const ushort MmioSegment = 0xA000;

    /// <summary>Guest-physical base of the MMIO window the MMIO guests use (below 1 MiB, above small test RAM).</summary>
    public const ulong MmioBase = (ulong)MmioSegment << 4;

    /// <summary>Offset in the MMIO window the guest writes <see cref="MmioWrittenValue"/> to.</summary>
    public const ushort MmioWriteOffset = 0x10;

    /// <summary>Offset in the MMIO window the guest reads a dword from.</summary>
    public const ushort MmioReadOffset = 0x20;

    /// <summary>The word the MMIO guest stores.</summary>
    public const ushort MmioWrittenValue = 0x1234;

    /// <summary>Adds this to the value read from <see cref="DevicePort"/> before writing it to <see cref="ResultPort"/>.</summary>
    public const ushort InIncrement = 1;

    /// <summary>Reads a word from <see cref="DevicePort"/> with <c>in ax, dx</c>, adds <see cref="InIncrement"/>, writes it to <see cref="ResultPort"/>, exits.</summary>
    public static byte[] InEcho() =>
        GuestAssembler.Assemble16(asm =>
        {
            asm.mov(dx, DevicePort);
            asm.@in(ax, dx);
            asm.add(ax, InIncrement);
            asm.mov(dx, ResultPort);
            asm.@out(dx, ax);
            GuestAssembler.EmitExit(asm, 0);
        });

    /// <summary>
    /// Writes <see cref="MmioWrittenValue"/> (a word) to MMIO at <see cref="MmioWriteOffset"/>, reads a dword from
    /// <see cref="MmioReadOffset"/> and writes it to <see cref="ResultPort"/> with a 32-bit OUT.
    /// </summary>
    public static byte[] MmioReadWrite() =>
        GuestAssembler.Assemble16(asm =>
        {
            asm.mov(ax, MmioSegment);
            asm.mov(es, ax);
            asm.mov(__word_ptr.es[MmioWriteOffset], MmioWrittenValue);
            asm.mov(eax, __dword_ptr.es[MmioReadOffset]);
            asm.mov(dx, ResultPort);
            asm.@out(dx, eax);
            GuestAssembler.EmitExit(asm, 0);
        });

    /// <summary>Number of words the string I/O guest moves each way.</summary>
    public const int StringWords = 8;

    /// <summary>
    /// <c>rep insw</c> reads <see cref="StringWords"/> words from <see cref="DevicePort"/> into the data area, then
    /// <c>rep outsw</c> writes them back to <see cref="ResultPort"/> (each element one exit).
    /// </summary>
    public static byte[] RepStringIo() =>
        GuestAssembler.Assemble16(asm =>
        {
            asm.cld();
            asm.mov(di, GuestAssembler.DataOffset);
            asm.mov(cx, StringWords);
            asm.mov(dx, DevicePort);
            asm.rep.insw();
            asm.mov(si, GuestAssembler.DataOffset);
            asm.mov(cx, StringWords);
            asm.mov(dx, ResultPort);
            asm.rep.outsw();
            GuestAssembler.EmitExit(asm, 0);
        },
        new byte[StringWords * 2]);

    /// <summary>Spins forever without halting (a guest that never ends on its own).</summary>
    public static byte[] SpinForever() =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            asm.Label(ref loop);
            asm.inc(ax);
            asm.jmp(loop);
        });

    /// <summary>Halts with interrupts disabled: only the host can end it.</summary>
    public static byte[] HaltForever() =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            asm.cli();
            asm.Label(ref loop);
            asm.hlt();
            asm.jmp(loop);
        });

    /// <summary>Emits the 32-bit counting loop used by benchmarks: <c>ecx</c> iterations of add/xor/dec/jnz, then exits.</summary>
    public static byte[] AluLoop(uint iterations) =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            asm.mov(ecx, iterations);
            asm.xor(eax, eax);
            asm.mov(ebx, 3u);
            asm.Label(ref loop);
            asm.add(eax, ebx);
            asm.xor(ebx, eax);
            asm.dec(ecx);
            asm.jnz(loop);
            GuestAssembler.EmitExit(asm, 0);
        });

    /// <summary>Writes AL to <paramref name="port"/> <paramref name="count"/> times (port-exit benchmark), then exits.</summary>
    public static byte[] OutLoop(ushort port, uint count) =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            asm.mov(ecx, count);
            asm.mov(dx, port);
            asm.Label(ref loop);
            asm.@out(dx, al);
            asm.dec(ecx);
            asm.jnz(loop);
            GuestAssembler.EmitExit(asm, 0);
        });

    /// <summary>Writes a dword to MMIO at <see cref="MmioBase"/> <paramref name="count"/> times (MMIO-exit benchmark), then exits.</summary>
    public static byte[] MmioLoop(uint count) =>
        GuestAssembler.Assemble16(asm =>
        {
            var loop = asm.CreateLabel();
            asm.mov(ecx, count);
            asm.mov(ax, MmioSegment);
            asm.mov(es, ax);
            asm.Label(ref loop);
            asm.mov(__dword_ptr.es[0], ecx);
            asm.dec(ecx);
            asm.jnz(loop);
            GuestAssembler.EmitExit(asm, 0);
        });

    /// <summary>Jumps far to <paramref name="segment"/>:0 (outside RAM when the segment is beyond the VM's memory).</summary>
    public static byte[] JumpFar(ushort segment) =>
        GuestAssembler.Assemble16(asm => asm.jmp(segment, 0));

    /// <summary>Executes an undefined opcode with no IVT handler installed.</summary>
    public static byte[] UndefinedOpcode() =>
        GuestAssembler.Assemble16(asm => asm.ud2());

    /// <summary>Calls itself forever (the stack wraps inside its 64 KiB segment).</summary>
    public static byte[] RunawayRecursion() =>
        GuestAssembler.Assemble16(asm =>
        {
            var self = asm.CreateLabel();
            asm.Label(ref self);
            asm.call(self);
        });
    /// <summary>Writes <paramref name="value"/> to <see cref="ResultPort"/> with an immediate MOV and OUT, then exits.</summary>
    public static byte[] ReportConstant(byte value) =>
        GuestAssembler.Assemble16(asm =>
        {
            asm.mov(al, value);
            asm.mov(dx, ResultPort);
            asm.@out(dx, al);
            GuestAssembler.EmitExit(asm, 0);
        });

    /// <summary>
    /// Runs <c>mov al, before; out</c> once, then patches the MOV's immediate to <paramref name="after"/> in place and
    /// runs the same (already decoded) instruction again: a decoded-instruction cache must see the store.
    /// </summary>
    public static byte[] SelfModifying(byte before, byte after) =>
        GuestAssembler.Assemble16WithLabels((asm, address) =>
        {
            var patch = asm.CreateLabel("patch");
            asm.mov(cx, 2);
            asm.mov(dx, ResultPort);
            asm.Label(ref patch);
            asm.mov(al, before);
            asm.@out(dx, al);
            asm.mov(__byte_ptr[address("patch") + 1], after);
            asm.dec(cx);
            asm.jnz(patch);
            GuestAssembler.EmitExit(asm, 0);
            return [patch];
        });
}
