using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>Real-mode guests that install IVT handlers and take software interrupts, external interrupts and exceptions.</summary>
public static class InterruptGuests
{
    /// <summary>The vector the INT n guest raises.</summary>
    public const byte SoftwareVector = 0x40;

    /// <summary>The vector the external-interrupt guest handles (IRQ0 with the master PIC at its BIOS base 0x08).</summary>
    public const byte ExternalVector = 0x08;

    /// <summary>Written to <see cref="IoGuests.ResultPort"/> by interrupt handlers.</summary>
    public const ushort MarkerHandler = 0x1111;

    /// <summary>Written after the interrupted code resumes.</summary>
    public const ushort MarkerResumed = 0x2222;

    /// <summary>Written just before the guest halts waiting for an interrupt.</summary>
    public const ushort MarkerReady = 0x3333;

    /// <summary>Exit status the exception guests use when their handler ran.</summary>
    public const byte HandledStatus = 0x42;

    /// <summary>Size of the IVT entry for one vector.</summary>
    private const int IvtEntrySize = 4;

    /// <summary><c>int 0x40</c> into a handler that reports <see cref="MarkerHandler"/> and IRETs; then reports <see cref="MarkerResumed"/>.</summary>
    public static byte[] SoftwareInterrupt() =>
        GuestAssembler.Assemble16WithLabels((asm, address) =>
        {
            var handler = asm.CreateLabel("handler");
            InstallVector(asm, SoftwareVector, address("handler"));
            asm.@int(SoftwareVector);
            Report(asm, MarkerResumed);
            GuestAssembler.EmitExit(asm, 0);
            asm.Label(ref handler);
            Report(asm, MarkerHandler);
            asm.iret();
            return [handler];
        });

    /// <summary>
    /// Installs a handler for <see cref="ExternalVector"/>, reports <see cref="MarkerReady"/>, then <c>sti; hlt</c> until the
    /// handler has run (it reports <see cref="MarkerHandler"/>), then reports <see cref="MarkerResumed"/> and exits.
    /// </summary>
    public static byte[] ExternalInterruptWhileHalted() =>
        GuestAssembler.Assemble16WithLabels(
            (asm, address) =>
            {
                var handler = asm.CreateLabel("handler");
                var wait = asm.CreateLabel();
                InstallVector(asm, ExternalVector, address("handler"));
                Report(asm, MarkerReady);
                asm.sti();
                asm.Label(ref wait);
                asm.hlt();
                asm.cmp(__byte_ptr[GuestAssembler.DataOffset], 0);
                asm.je(wait);
                Report(asm, MarkerResumed);
                GuestAssembler.EmitExit(asm, 0);
                asm.Label(ref handler);
                asm.push(ax);
                asm.push(dx);
                asm.mov(__byte_ptr[GuestAssembler.DataOffset], 1);
                Report(asm, MarkerHandler);
                asm.pop(dx);
                asm.pop(ax);
                asm.iret();
                return [handler];
            },
            new byte[1]);

    /// <summary>Divides by zero; the #DE handler reports the faulting IP pushed on its stack and exits with <see cref="HandledStatus"/>.</summary>
    public static byte[] DivideError(out ushort faultingIp) => FaultGuest(0, asm =>
    {
        asm.xor(cx, cx);
        asm.mov(ax, 1);
        asm.div(cl);
    }, out faultingIp);

    /// <summary>Executes UD2; the #UD handler reports the faulting IP and exits with <see cref="HandledStatus"/>.</summary>
    public static byte[] InvalidOpcode(out ushort faultingIp) => FaultGuest(6, asm => asm.ud2(), out faultingIp);

    private static byte[] FaultGuest(byte vector, Action<Assembler> fault, out ushort faultingIp)
    {
        IReadOnlyDictionary<string, ulong> labels;
        byte[] image = GuestAssembler.AssembleWithLabels(16, 0, (asm, address) =>
        {
            var handler = asm.CreateLabel("handler");
            var faulting = asm.CreateLabel("faulting");
            InstallVector(asm, vector, (ushort)address("handler"));
            asm.Label(ref faulting);
            fault(asm);
            Report(asm, MarkerResumed);
            GuestAssembler.EmitExit(asm, 0);
            asm.Label(ref handler);
            asm.mov(bp, sp);
            asm.mov(ax, __word_ptr[bp]);
            asm.mov(dx, IoGuests.ResultPort);
            asm.@out(dx, ax);
            GuestAssembler.EmitExit(asm, HandledStatus);
            return [handler, faulting];
        }, out labels);
        faultingIp = (ushort)labels["faulting"];
        return image;
    }

    private static void InstallVector(Assembler asm, byte vector, ushort handlerOffset)
    {
        asm.xor(ax, ax);
        asm.mov(es, ax);
        asm.mov(__word_ptr.es[vector * IvtEntrySize], handlerOffset);
        asm.mov(ax, cs);
        asm.mov(__word_ptr.es[(vector * IvtEntrySize) + 2], ax);
    }

    private static void Report(Assembler asm, ushort marker)
    {
        asm.mov(dx, IoGuests.ResultPort);
        asm.mov(ax, marker);
        asm.@out(dx, ax);
    }
}
