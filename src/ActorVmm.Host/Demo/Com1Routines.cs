using ActorVmm.Devices.Serial;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.Host.Demo;

/// <summary>
/// Guest-side COM1 driver routines in 16-bit code, written the way a real driver talks to a 16550A:
/// program 115200 8N1 once, then poll LSR.THRE before every byte.
/// </summary>
internal sealed class Com1Routines
{
    /// <summary>COM1 base port: THR/RBR (DLAB=0) or divisor latch low (DLAB=1).</summary>
    public const ushort Base = SerialPortSpec.Com1Port;

    /// <summary>Interrupt enable register (DLAB=0) or divisor latch high (DLAB=1).</summary>
    public const ushort Ier = Base + 1;

    /// <summary>FIFO control register (write).</summary>
    public const ushort Fcr = Base + 2;

    /// <summary>Line control register.</summary>
    public const ushort Lcr = Base + 3;

    /// <summary>Modem control register.</summary>
    public const ushort Mcr = Base + 4;

    /// <summary>Line status register.</summary>
    public const ushort Lsr = Base + 5;

    /// <summary>Scratch register: any value written reads back on a 16450/16550.</summary>
    public const ushort Scratch = Base + 7;

    /// <summary>LCR bit 7: divisor latch access.</summary>
    public const byte LcrDlab = 0b1000_0000;

    /// <summary>LCR: 8 data bits, no parity, 1 stop bit.</summary>
    public const byte Lcr8N1 = 0b0000_0011;

    /// <summary>Divisor 1 = 115200 baud from the 1.8432 MHz clock.</summary>
    public const byte Divisor115200 = 1;

    /// <summary>FCR: enable FIFOs, clear both, 14-byte trigger.</summary>
    public const byte FcrEnableAndClear = 0b1100_0111;

    /// <summary>MCR: DTR and RTS asserted.</summary>
    public const byte McrDtrRts = 0b0000_0011;

    /// <summary>LSR bit 5: transmit holding register empty.</summary>
    public const byte LsrThre = 0b0010_0000;

    /// <summary>How many LSR polls before giving up on a byte (a stuck UART must not hang the guest).</summary>
    public const ushort PollLimit = 0xFFFF;

    private Label _putc;
    private Label _puts;
    private Label _putBcd;

    /// <summary>Label of <c>putc</c>: writes AL; preserves every register.</summary>
    public Label PutChar => _putc;

    /// <summary>Label of <c>puts</c>: writes the NUL-terminated string at DS:SI; preserves every register but SI.</summary>
    public Label PutString => _puts;

    /// <summary>Label of <c>putbcd</c>: writes AL as two BCD digits; preserves every register.</summary>
    public Label PutBcd => _putBcd;

    /// <summary>Creates the labels; call <see cref="EmitInit"/> in the code and <see cref="EmitRoutines"/> after it.</summary>
    public Com1Routines(Assembler asm)
    {
        _putc = asm.CreateLabel("putc");
        _puts = asm.CreateLabel("puts");
        _putBcd = asm.CreateLabel("putbcd");
    }

    /// <summary>Emits the UART set-up: 115200 8N1, FIFOs on, interrupts off, DTR/RTS.</summary>
    public static void EmitInit(Assembler asm)
    {
        Out(asm, Ier, 0);
        Out(asm, Lcr, LcrDlab);
        Out(asm, Base, Divisor115200);
        Out(asm, Ier, 0);
        Out(asm, Lcr, Lcr8N1);
        Out(asm, Fcr, FcrEnableAndClear);
        Out(asm, Mcr, McrDtrRts);
    }

    /// <summary>Emits <c>mov dx, port; mov al, value; out dx, al</c>.</summary>
    public static void Out(Assembler asm, ushort port, byte value)
    {
        asm.mov(dx, port);
        asm.mov(al, value);
        asm.@out(dx, al);
    }

    /// <summary>Emits the three routines (place them after the main code's final jump).</summary>
    public void EmitRoutines(Assembler asm)
    {
        // putc: wait for THRE (bounded), then write AL to THR.
        var poll = asm.CreateLabel();
        var send = asm.CreateLabel();
        asm.Label(ref _putc);
        asm.push(ax);
        asm.push(cx);
        asm.push(dx);
        asm.mov(ah, al);
        asm.mov(cx, PollLimit);
        asm.mov(dx, Lsr);
        asm.Label(ref poll);
        asm.@in(al, dx);
        asm.test(al, LsrThre);
        asm.jnz(send);
        asm.loop(poll);
        asm.Label(ref send);
        asm.mov(dx, Base);
        asm.mov(al, ah);
        asm.@out(dx, al);
        asm.pop(dx);
        asm.pop(cx);
        asm.pop(ax);
        asm.ret();

        // puts: putc each byte of DS:SI up to the NUL.
        var next = asm.CreateLabel();
        var done = asm.CreateLabel();
        asm.Label(ref _puts);
        asm.push(ax);
        asm.Label(ref next);
        asm.lodsb();
        asm.test(al, al);
        asm.jz(done);
        asm.call(_putc);
        asm.jmp(next);
        asm.Label(ref done);
        asm.pop(ax);
        asm.ret();

        // putbcd: high nibble then low nibble as ASCII digits.
        asm.Label(ref _putBcd);
        asm.push(ax);
        asm.push(ax);
        asm.shr(al, (byte)4);
        asm.add(al, (byte)'0');
        asm.call(_putc);
        asm.pop(ax);
        asm.and(al, (byte)0x0F);
        asm.add(al, (byte)'0');
        asm.call(_putc);
        asm.pop(ax);
        asm.ret();
    }
}
