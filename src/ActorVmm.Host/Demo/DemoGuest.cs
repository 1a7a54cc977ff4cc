using ActorVmm.Devices.ExitPort;
using ActorVmm.Devices.I8042;
using ActorVmm.Devices.Pic;
using ActorVmm.Devices.Pit;
using ActorVmm.Devices.Rtc;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Host.Demo;

/// <summary>
/// The built-in guest that <c>actorvmm run</c> boots without an image: a banner over COM1, the RTC's
/// date and time, the i8042 self-test, the list of devices that answered, then exit status 0 through
/// port 0xF4. Assembled with Iced at start-up; no external tools.
/// </summary>
public static class DemoGuest
{
    /// <summary>The first line the guest prints (tests look for it).</summary>
    public const string Banner = "ActorVmm demo guest: hello from 16-bit real mode over COM1";

    /// <summary>The text before the date and time (tests look for it).</summary>
    public const string DatePrefix = "RTC date and time: ";

    /// <summary>The text before the device list.</summary>
    public const string DevicesPrefix = "devices answered:";

    /// <summary>The exit port (guest-conventions.md).</summary>
    public const byte ExitPort = (byte)ExitPortDevice.Port;

    /// <summary>The status the demo exits with.</summary>
    public const byte ExitStatus = 0;

    /// <summary>MC146818 index port.</summary>
    public const byte RtcIndex = (byte)RtcDevice.DefaultPioBase;

    /// <summary>MC146818 data port.</summary>
    public const byte RtcData = RtcIndex + 1;

    /// <summary>RTC register indexes: seconds, minutes, hours, day of month, month, year, status A, status B.</summary>
    public const byte RtcSeconds = 0x00, RtcMinutes = 0x02, RtcHours = 0x04, RtcDay = 0x07, RtcMonth = 0x08, RtcYear = 0x09, RtcStatusA = 0x0A, RtcStatusB = 0x0B;

    /// <summary>Status A bit 7: update in progress; the time registers are unstable while set.</summary>
    public const byte RtcUip = 0b1000_0000;

    /// <summary>Status B bit 2: data mode binary (clear: BCD).</summary>
    public const byte RtcBinaryMode = 0b0000_0100;

    /// <summary>Hours bit 7: PM flag in 12-hour mode; masked off (24-hour mode assumed).</summary>
    public const byte RtcHoursValueMask = 0b0111_1111;

    /// <summary>What an absent device reads as on an empty ISA bus.</summary>
    public const byte EmptyBus = 0xFF;

    /// <summary>i8042 data port.</summary>
    public const byte I8042Data = (byte)I8042Registers.DataPort;

    /// <summary>i8042 status (read) / command (write) port.</summary>
    public const byte I8042Command = (byte)I8042Registers.CommandPort;

    /// <summary>i8042 status bit 0: output buffer full.</summary>
    public const byte I8042OutputFull = 0b0000_0001;

    /// <summary>i8042 command: controller self-test.</summary>
    public const byte I8042SelfTest = 0xAA;

    /// <summary>i8042 self-test passed.</summary>
    public const byte I8042SelfTestPassed = 0x55;

    /// <summary>8259 master interrupt mask register.</summary>
    public const byte PicMasterImr = (byte)PicDevice.DefaultMasterBase + 1;

    /// <summary>A value written to the IMR and expected back.</summary>
    public const byte PicProbePattern = 0b1010_0101;

    /// <summary>IMR value that masks every line (interrupts stay off in the demo).</summary>
    public const byte PicMaskAll = 0xFF;

    /// <summary>8254 channel 2 data port and mode/command port.</summary>
    public const byte PitChannel2 = (byte)PitDevice.DefaultCounterBase + 2, PitCommand = (byte)PitDevice.DefaultCounterBase + 3;

    /// <summary>PIT command: channel 2, lobyte/hibyte access, mode 0, binary.</summary>
    public const byte PitChannel2Mode0 = 0b1011_0000;

    /// <summary>PIT command: latch channel 2's count.</summary>
    public const byte PitLatchChannel2 = 0b1000_0000;

    /// <summary>The count loaded into channel 2; a counting PIT reads back at most this.</summary>
    public const byte PitCountLow = 0x34, PitCountHigh = 0x12;

    /// <summary>Bounded wait loops (UIP, i8042 output buffer): an absent device must not hang the guest.</summary>
    public const ushort WaitLimit = 0xFFFF;

    /// <summary>Device flags kept in DI while the guest runs.</summary>
    private const ushort FlagCom1 = 1, FlagRtc = 2, FlagI8042 = 4, FlagPic = 8, FlagPit = 16;

    /// <summary>Assembles the demo guest.</summary>
    public static byte[] Build()
    {
        var image = new RealModeImage();
        var asm = image.Code;
        var com1 = new Com1Routines(asm);
        ushort banner = image.AddString("\r\n" + Banner + "\r\n");
        ushort datePrefix = image.AddString(DatePrefix + "20");
        ushort dash = image.AddString("-");
        ushort space = image.AddString(" ");
        ushort colon = image.AddString(":");
        ushort newline = image.AddString("\r\n");
        ushort rtcAbsent = image.AddString("RTC: no answer (update-in-progress never cleared)\r\n");
        ushort kbdPassed = image.AddString("i8042 self-test: passed (0x55)\r\n");
        ushort kbdFailed = image.AddString("i8042 self-test: no answer or failed\r\n");
        ushort devices = image.AddString(DevicesPrefix);
        ushort[] names = [image.AddString(" com1"), image.AddString(" rtc"), image.AddString(" i8042"), image.AddString(" pic"), image.AddString(" pit")];
        ushort bye = image.AddString("bye: exiting with status 0 through port 0xF4\r\n");

        asm.cli();
        asm.xor(di, di);
        Com1Routines.EmitInit(asm);
        EmitProbeCom1(asm);
        Puts(asm, com1, banner);
        EmitRtc(asm, com1, datePrefix, dash, space, colon, newline, rtcAbsent);
        EmitI8042(asm, com1, kbdPassed, kbdFailed);
        EmitProbePic(asm);
        EmitProbePit(asm);

        // The device list: one name per flag bit in DI.
        Puts(asm, com1, devices);
        ushort[] flags = [FlagCom1, FlagRtc, FlagI8042, FlagPic, FlagPit];
        for (int i = 0; i < flags.Length; i++)
        {
            var skip = asm.CreateLabel();
            asm.test(di, flags[i]);
            asm.jz(skip);
            Puts(asm, com1, names[i]);
            asm.Label(ref skip);
        }

        Puts(asm, com1, newline);
        Puts(asm, com1, bye);

        var halt = asm.CreateLabel();
        asm.mov(al, ExitStatus);
        asm.@out(ExitPort, al);
        asm.Label(ref halt);
        asm.hlt();
        asm.jmp(halt);

        com1.EmitRoutines(asm);
        return image.Build();
    }

    private static void Puts(Assembler asm, Com1Routines com1, ushort text)
    {
        asm.mov(si, text);
        asm.call(com1.PutString);
    }

    private static void EmitProbeCom1(Assembler asm)
    {
        // A 16550's scratch register reads back what was written; an empty bus reads 0xFF.
        var absent = asm.CreateLabel();
        Com1Routines.Out(asm, Com1Routines.Scratch, PicProbePattern);
        asm.@in(al, dx);
        asm.cmp(al, PicProbePattern);
        asm.jne(absent);
        asm.or(di, FlagCom1);
        asm.Label(ref absent);
    }

    private static void EmitRtc(Assembler asm, Com1Routines com1, ushort prefix, ushort dash, ushort space, ushort colon, ushort newline, ushort absent)
    {
        var wait = asm.CreateLabel();
        var ready = asm.CreateLabel();
        var noRtc = asm.CreateLabel();
        var done = asm.CreateLabel();

        // Wait (bounded) for the update-in-progress flag to clear, as a driver must before reading.
        asm.mov(cx, WaitLimit);
        asm.Label(ref wait);
        asm.mov(al, RtcStatusA);
        asm.@out(RtcIndex, al);
        asm.@in(al, RtcData);
        asm.cmp(al, EmptyBus);
        asm.je(noRtc);
        asm.test(al, RtcUip);
        asm.jz(ready);
        asm.loop(wait);
        asm.jmp(noRtc);

        asm.Label(ref ready);
        asm.or(di, FlagRtc);
        asm.mov(al, RtcStatusB);
        asm.@out(RtcIndex, al);
        asm.@in(al, RtcData);
        asm.mov(bl, al);
        Puts(asm, com1, prefix);
        (byte Register, ushort Separator)[] fields =
            [(RtcYear, dash), (RtcMonth, dash), (RtcDay, space), (RtcHours, colon), (RtcMinutes, colon), (RtcSeconds, newline)];
        foreach (var (register, separator) in fields)
        {
            EmitReadRtcAsBcd(asm, register);
            if (register == RtcHours)
            {
                asm.and(al, RtcHoursValueMask);
            }

            asm.call(com1.PutBcd);
            Puts(asm, com1, separator);
        }

        asm.jmp(done);
        asm.Label(ref noRtc);
        Puts(asm, com1, absent);
        asm.Label(ref done);
    }

    /// <summary>Reads an RTC register into AL as BCD: converts when status B (kept in BL) says binary.</summary>
    private static void EmitReadRtcAsBcd(Assembler asm, byte register)
    {
        var isBcd = asm.CreateLabel();
        asm.mov(al, register);
        asm.@out(RtcIndex, al);
        asm.@in(al, RtcData);
        asm.test(bl, RtcBinaryMode);
        asm.jz(isBcd);
        asm.mov(ah, 0);
        asm.mov(cl, 10);
        asm.div(cl);
        asm.shl(al, (byte)4);
        asm.or(al, ah);
        asm.Label(ref isBcd);
    }

    private static void EmitI8042(Assembler asm, Com1Routines com1, ushort passed, ushort failed)
    {
        var wait = asm.CreateLabel();
        var full = asm.CreateLabel();
        var fail = asm.CreateLabel();
        var done = asm.CreateLabel();
        asm.mov(al, I8042SelfTest);
        asm.@out(I8042Command, al);
        asm.mov(cx, WaitLimit);
        asm.Label(ref wait);
        asm.@in(al, I8042Command);
        asm.cmp(al, EmptyBus);
        asm.je(fail);
        asm.test(al, I8042OutputFull);
        asm.jnz(full);
        asm.loop(wait);
        asm.jmp(fail);
        asm.Label(ref full);
        asm.@in(al, I8042Data);
        asm.cmp(al, I8042SelfTestPassed);
        asm.jne(fail);
        asm.or(di, FlagI8042);
        Puts(asm, com1, passed);
        asm.jmp(done);
        asm.Label(ref fail);
        Puts(asm, com1, failed);
        asm.Label(ref done);
    }

    private static void EmitProbePic(Assembler asm)
    {
        // The IMR reads back what was written; then every line is masked (the demo runs with IF=0 anyway).
        var absent = asm.CreateLabel();
        asm.mov(al, PicProbePattern);
        asm.@out(PicMasterImr, al);
        asm.@in(al, PicMasterImr);
        asm.cmp(al, PicProbePattern);
        asm.jne(absent);
        asm.or(di, FlagPic);
        asm.Label(ref absent);
        asm.mov(al, PicMaskAll);
        asm.@out(PicMasterImr, al);
    }

    private static void EmitProbePit(Assembler asm)
    {
        // Load channel 2 with 0x1234 in mode 0, latch it: a counting PIT reads back at most 0x1234,
        // an empty bus reads 0xFFFF.
        var absent = asm.CreateLabel();
        asm.mov(al, PitChannel2Mode0);
        asm.@out(PitCommand, al);
        asm.mov(al, PitCountLow);
        asm.@out(PitChannel2, al);
        asm.mov(al, PitCountHigh);
        asm.@out(PitChannel2, al);
        asm.mov(al, PitLatchChannel2);
        asm.@out(PitCommand, al);
        asm.@in(al, PitChannel2);
        asm.@in(al, PitChannel2);
        asm.cmp(al, PitCountHigh);
        asm.ja(absent);
        asm.or(di, FlagPit);
        asm.Label(ref absent);
    }
}
