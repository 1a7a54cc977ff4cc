using System.Buffers.Binary;
using ActorVmm.Devices.Framebuffer;
using ActorVmm.Devices.Pci;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A flat guest that draws into the 32-bpp linear framebuffer it finds on PCI bus 0: it enters 32-bit protected mode
/// (flat data segment), enumerates bus 0 through 0xCF8/0xCFC for the framebuffer's vendor and device IDs (exit status
/// <see cref="NotFoundStatus"/> when absent), optionally moves its BAR (decode off, BAR, decode on), reads where the BAR
/// decodes, fills the whole frame there with a background colour, draws each rectangle with <c>rep stosd</c> row by
/// row, writes <see cref="DrawnMarker"/> on COM1, and then exits with status 0 (or halts forever, for a screenshot of a
/// running VM).
/// </summary>
public static class FramebufferGuest
{
    /// <summary>What the guest writes on COM1 once the frame is drawn.</summary>
    public const string DrawnMarker = "drawn\n";

    /// <summary>Exit status when bus 0 has no framebuffer function.</summary>
    public const byte NotFoundStatus = 1;

    private static readonly PciConfigCycles Config = PciConfigCycles.Pc;

    private const int BytesPerPixel = 4;
    private const int ImageSize = 0x1000;
    private const int Code32Offset = 0x100;
    private const int GdtOffset = 0xE00;
    private const int GdtrOffset = 0xE30;
    private const ulong ImageBase = GuestAssembler.LoadAddress;
    private const ushort Code32Selector = 0x08;
    private const ushort FlatDataSelector = 0x10;

    // Code: base = the image (so 32-bit code runs at its image offsets), 4 GiB limit, 32-bit; data: flat 4 GiB.
    private const ulong Code32Descriptor = 0x00CF_9A01_0000_FFFF;
    private const ulong FlatDataDescriptor = 0x00CF_9200_0000_FFFF;
    private const uint Cr0ProtectionEnable = 0x1;
    private const uint Stack32 = 0x9000;
    private const uint FrameIds = FramebufferDevice.VendorId | ((uint)FramebufferDevice.PciDeviceId << 16);
    private const int BarRegister = PciHeader.Bar0 + (FramebufferDevice.FrameBar * PciHeader.BarSize);

    /// <summary>A filled rectangle in pixels, in a <c>0x00RRGGBB</c> colour.</summary>
    public sealed record Rectangle(int X, int Y, int Width, int Height, uint Colour);

    /// <summary>
    /// Builds the guest for a <paramref name="width"/> × <paramref name="height"/> frame with packed rows, drawn wherever
    /// the framebuffer's BAR decodes: where power-on put it, or at <paramref name="moveBarTo"/> after the guest moves it.
    /// </summary>
    /// <exception cref="ArgumentException">A rectangle leaves the frame, or the move target is not a page-aligned address below 4 GiB.</exception>
    public static byte[] Build(int width, int height, uint background, IReadOnlyList<Rectangle> rectangles, bool haltWhenDrawn = false, ulong? moveBarTo = null)
    {
        ArgumentNullException.ThrowIfNull(rectangles);
        int stride = width * BytesPerPixel;
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentException($"a {width}x{height} frame has no pixels");
        }

        if (moveBarTo is { } target && (target == 0 || target % 4096 != 0 || target + ((ulong)stride * (ulong)height) > uint.MaxValue))
        {
            throw new ArgumentException($"a {width}x{height} frame cannot be moved to 0x{target:X}: the BAR must be page-aligned and the frame reachable from 32-bit code");
        }

        foreach (var r in rectangles)
        {
            if (r.X < 0 || r.Y < 0 || r.Width <= 0 || r.Height <= 0 || r.X + r.Width > width || r.Y + r.Height > height)
            {
                throw new ArgumentException($"{r} does not lie inside the {width}x{height} frame");
            }
        }

        byte[] image = new byte[ImageSize];
        byte[] code16 = GuestAssembler.Assemble16(asm =>
        {
            asm.cli();
            asm.lgdt(__[GdtrOffset]);
            asm.mov(eax, cr0);
            asm.or(eax, Cr0ProtectionEnable);
            asm.mov(cr0, eax);
            asm.jmp(Code32Selector, Code32Offset);
        });
        code16.CopyTo(image, 0);

        var asm32 = new Assembler(32);
        asm32.mov(ax, FlatDataSelector);
        asm32.mov(ds, ax);
        asm32.mov(es, ax);
        asm32.mov(ss, ax);
        asm32.mov(esp, Stack32);
        asm32.cld();
        FindFramebuffer(asm32);
        if (moveBarTo is { } moved)
        {
            ConfigWrite(asm32, PciHeader.Command, (uint)PciCommand.None);
            ConfigWrite(asm32, BarRegister, (uint)moved);
            ConfigWrite(asm32, PciHeader.Command, (uint)PciCommand.MemorySpace);
        }

        // ESI = where the frame decodes now.
        Config.Read(asm32, BarRegister);
        asm32.and(eax, PciBarBits.MemoryAddressMask);
        asm32.mov(esi, eax);
        Fill(asm32, stride, new Rectangle(0, 0, width, height, background));
        foreach (var rectangle in rectangles)
        {
            Fill(asm32, stride, rectangle);
        }

        asm32.mov(dx, Guests.Com1);
        foreach (char c in DrawnMarker)
        {
            asm32.mov(al, (byte)c);
            asm32.@out(dx, al);
        }

        if (haltWhenDrawn)
        {
            var halt = asm32.CreateLabel();
            asm32.Label(ref halt);
            asm32.hlt();
            asm32.jmp(halt);
        }
        else
        {
            GuestAssembler.EmitExit(asm32, 0);
        }

        using var stream = new MemoryStream();
        asm32.Assemble(new StreamCodeWriter(stream), Code32Offset);
        byte[] code32 = stream.ToArray();
        if (code32.Length > GdtOffset - Code32Offset)
        {
            throw new ArgumentException($"{rectangles.Count} rectangles take more code than the image has room for");
        }

        code32.CopyTo(image, Code32Offset);
        var span = image.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span[(GdtOffset + Code32Selector)..], Code32Descriptor);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(GdtOffset + FlatDataSelector)..], FlatDataDescriptor);
        BinaryPrimitives.WriteUInt16LittleEndian(span[GdtrOffset..], (3 * 8) - 1);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(GdtrOffset + 2)..], (uint)(ImageBase + GdtOffset));
        return image;
    }

    /// <summary>Scans bus 0 for the framebuffer's IDs: EDI = its device number; exits with <see cref="NotFoundStatus"/> when absent.</summary>
    private static void FindFramebuffer(Assembler asm)
    {
        var notFound = asm.CreateLabel();
        var found = asm.CreateLabel();
        Config.Find(asm, FrameIds, notFound);
        asm.jmp(found);
        asm.Label(ref notFound);
        GuestAssembler.EmitExit(asm, NotFoundStatus);
        asm.Label(ref found);
    }

    // Writes `value` to the dword at `register` of device EDI (for the command register the status half is write-1-to-clear: 0 leaves it).
    private static void ConfigWrite(Assembler asm, int register, uint value)
    {
        asm.mov(ebx, value);
        Config.Write(asm, register);
    }

    /// <summary>Fills one rectangle of the frame at ESI: for each row, <c>rep stosd</c> of its width, then on to the next row.</summary>
    private static void Fill(Assembler asm, int stride, Rectangle r)
    {
        var row = asm.CreateLabel();
        asm.lea(ebx, __[esi + ((r.Y * stride) + (r.X * BytesPerPixel))]);
        asm.mov(edx, (uint)r.Height);
        asm.mov(eax, r.Colour);
        asm.Label(ref row);
        asm.mov(edi, ebx);
        asm.mov(ecx, (uint)r.Width);
        asm.rep.stosd();
        asm.add(ebx, stride);
        asm.dec(edx);
        asm.jnz(row);
    }
}
