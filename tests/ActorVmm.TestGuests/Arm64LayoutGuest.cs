using System.Buffers.Binary;
using System.Text;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A guest for kvmtool's arm64 platform layout, run by the x86 emulator: it enters 32-bit protected mode with a
/// flat data segment (so it can address the 16 MiB platform MMIO window), transmits a message through the
/// 16550A at <see cref="UartBase"/> by polling LSR.THRE, then reads the MC146818 at <see cref="RtcBase"/> the way
/// Linux's <c>mc146818_get_time</c> does (wait for UIP clear, read, decode BCD), reports each decoded value on
/// <see cref="TimerGuests.ReportPort"/> and exits 0 through the exit port.
/// </summary>
public static class Arm64LayoutGuest
{
    /// <summary>The UART's MMIO base in the arm64 layout.</summary>
    public const uint UartBase = 0x0100_0000;

    /// <summary>The RTC's MMIO base in the arm64 layout (index register; data register at +1).</summary>
    public const uint RtcBase = 0x0101_0000;

    /// <summary>Guest RAM the guest needs.</summary>
    public const ulong MemorySize = 1024 * 1024;

    private const int Code32Offset = 0x100;
    private const int GdtOffset = 0x800;
    private const int GdtrOffset = 0x830;
    private const int MessageOffset = 0x900;
    private const int ImageSize = 0xA00;
    private const ushort Code32Selector = 0x08;
    private const ushort DataFlatSelector = 0x10;

    // 32-bit code with base 0x10000 (the image), flat 4 GiB data.
    private const ulong Code32Descriptor = 0x00CF_9A01_0000_FFFF;
    private const ulong DataFlatDescriptor = 0x00CF_9200_0000_FFFF;
    private const uint Cr0ProtectionEnable = 0x1;
    private const uint Stack32 = 0x1_8000;

    private const int UartThr = 0, UartLsr = 5;
    private const byte LsrThrEmpty = 0x20;
    private const int RtcData = 1;
    private const byte RtcRegisterA = 0x0A, RtcUipBit = 0x80, LowNibble = 0x0F;

    /// <summary>Builds the image for <paramref name="message"/> (ASCII, at most 255 bytes).</summary>
    public static byte[] Build(string message)
    {
        byte[] text = Encoding.ASCII.GetBytes(message);
        if (text.Length is 0 or > byte.MaxValue || MessageOffset + text.Length > ImageSize)
        {
            throw new ArgumentException("The message must be 1..255 ASCII bytes", nameof(message));
        }

        byte[] image = new byte[ImageSize];
        GuestAssembler.Assemble16(asm =>
        {
            asm.cli();
            asm.lgdt(__[GdtrOffset]);
            asm.mov(eax, cr0);
            asm.or(eax, Cr0ProtectionEnable);
            asm.mov(cr0, eax);
            asm.jmp(Code32Selector, Code32Offset);
        }).CopyTo(image, 0);

        byte[] code32 = Assemble32(asm => Build32(asm, text.Length));
        if (code32.Length > GdtOffset - Code32Offset)
        {
            throw new InvalidOperationException("32-bit part too large");
        }

        code32.CopyTo(image, Code32Offset);
        var span = image.AsSpan();
        ulong[] gdt = [0, Code32Descriptor, DataFlatDescriptor];
        for (int i = 0; i < gdt.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[(GdtOffset + (i * sizeof(ulong)))..], gdt[i]);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(span[GdtrOffset..], (ushort)((gdt.Length * sizeof(ulong)) - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(span[(GdtrOffset + 2)..], (uint)(GuestAssembler.LoadAddress + GdtOffset));
        text.CopyTo(image, MessageOffset);
        return image;
    }

    private static byte[] Assemble32(Action<Assembler> build)
    {
        var asm = new Assembler(32);
        build(asm);
        using var stream = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(stream), Code32Offset);
        return stream.ToArray();
    }

    private static void Build32(Assembler asm, int length)
    {
        var waitThre = asm.CreateLabel();
        var waitUip = asm.CreateLabel();
        asm.mov(ax, DataFlatSelector);
        asm.mov(ds, ax);
        asm.mov(es, ax);
        asm.mov(ss, ax);
        asm.mov(esp, Stack32);

        // Transmit: poll LSR.THRE, then write THR, as the 8250 console driver's serial_putc does.
        asm.mov(esi, (uint)GuestAssembler.LoadAddress + MessageOffset);
        asm.mov(ecx, (uint)length);
        asm.mov(edi, UartBase);
        asm.Label(ref waitThre);
        asm.mov(al, __byte_ptr[edi + UartLsr]);
        asm.test(al, LsrThrEmpty);
        asm.jz(waitThre);
        asm.mov(al, __byte_ptr[esi]);
        asm.mov(__byte_ptr[edi + UartThr], al);
        asm.inc(esi);
        asm.dec(ecx);
        asm.jnz(waitThre);

        // RTC: wait until register A's UIP bit is clear, then read and decode each time register.
        asm.mov(edi, RtcBase);
        asm.Label(ref waitUip);
        asm.mov(__byte_ptr[edi], RtcRegisterA);
        asm.mov(al, __byte_ptr[edi + RtcData]);
        asm.test(al, RtcUipBit);
        asm.jnz(waitUip);
        asm.mov(dx, TimerGuests.ReportPort);
        foreach (byte register in TimerGuests.RtcTimeRegisters)
        {
            asm.mov(__byte_ptr[edi], register);
            asm.mov(al, __byte_ptr[edi + RtcData]);
            asm.mov(bl, al);
            asm.and(bl, LowNibble);
            asm.shr(al, 4);
            asm.mov(ah, al);
            asm.shl(al, 3);
            asm.shl(ah, 1);
            asm.add(al, ah);
            asm.add(al, bl);
            asm.@out(dx, al);
        }

        asm.mov(dx, GuestAssembler.ExitPort);
        asm.xor(al, al);
        asm.@out(dx, al);
        asm.hlt();
    }
}
