using ActorVmm.Devices.ExitPort;
using ActorVmm.Devices.Serial;
using ActorVmm.Host.Demo;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Host.Fleet;

/// <summary>
/// The tiny guest <c>actorvmm fleet</c> runs when no image is given: its first instruction writes the
/// POST port (so the host can time create-to-first-instruction), it says hello on COM1, makes a fixed
/// number of port exits, then either exits with status 0 or halts with interrupts off until stopped.
/// </summary>
public static class FleetGuest
{
    /// <summary>The POST diagnostic port written by the first instruction.</summary>
    public const byte PostPort = 0x80;

    /// <summary>The exit port.</summary>
    public const byte ExitPort = (byte)ExitPortDevice.Port;

    /// <summary>COM1's transmit register.</summary>
    public const ushort Com1 = SerialPortSpec.Com1Port;

    /// <summary>The line each fleet guest prints.</summary>
    public const string Greeting = "fleet guest up\r\n";

    /// <summary>Assembles the guest: <paramref name="exits"/> extra POST writes, then exit 0 or halt (<paramref name="hold"/>).</summary>
    public static byte[] Build(ushort exits, bool hold)
    {
        var image = new RealModeImage();
        var asm = image.Code;
        ushort greeting = image.AddString(Greeting);
        var print = asm.CreateLabel();
        var printed = asm.CreateLabel();
        var work = asm.CreateLabel();
        var worked = asm.CreateLabel();
        var halt = asm.CreateLabel();

        asm.@out(PostPort, al);
        asm.mov(si, greeting);
        asm.mov(dx, Com1);
        asm.Label(ref print);
        asm.lodsb();
        asm.test(al, al);
        asm.jz(printed);
        asm.@out(dx, al);
        asm.jmp(print);
        asm.Label(ref printed);

        asm.mov(cx, exits);
        asm.jcxz(worked);
        asm.Label(ref work);
        asm.@out(PostPort, al);
        asm.loop(work);
        asm.Label(ref worked);

        if (!hold)
        {
            asm.mov(al, (byte)0);
            asm.@out(ExitPort, al);
        }

        asm.cli();
        asm.Label(ref halt);
        asm.hlt();
        asm.jmp(halt);
        return image.Build();
    }
}
