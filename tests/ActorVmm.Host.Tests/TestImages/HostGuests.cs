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

    /// <summary>A guest that executes an undefined instruction (UD2) with no IDT: the VM dies.</summary>
    public static byte[] Crasher() => GuestAssembler.Assemble16(asm => asm.ud2());
}
