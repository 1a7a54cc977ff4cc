using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// A flat binary that leaves real mode at once for 32-bit flat protected mode (no paging, interrupts off): code runs with
/// a code segment based at the image (so labels are image offsets) and flat 4 GiB data, stack and extra segments, so the
/// body reaches RAM and MMIO (virtio-mmio at 0xFE00_0000, PCI BARs) by physical address. For guests that drive devices above 1 MiB.
/// The image is loaded at 0x10000; the stack grows down from 0x7000, and RAM from there to the image is free for the body's data.
/// </summary>
public static class ProtectedModeImage
{
    /// <summary>Where the 32-bit body starts in the image (and its first instruction's offset in CS).</summary>
    public const int BodyOffset = 0x100;

    /// <summary>Largest 32-bit body.</summary>
    public const int MaxBodyBytes = GdtOffset - BodyOffset;

    /// <summary>The flat data selector the body starts with in DS, ES and SS.</summary>
    public const ushort DataFlatSelector = 0x10;

    /// <summary>The stack pointer the body starts with (flat).</summary>
    public const uint Stack = 0x7000;

    private const int GdtOffset = 0x1C00;
    private const int GdtrOffset = 0x1C30;
    private const int ImageSize = 0x1D00;

    /// <summary>The code selector the body runs with (base = the image, so a label's address is its offset in CS).</summary>
    public const ushort Code32Selector = 0x08;
    private const ulong Code32Descriptor = 0x00CF_9A01_0000_FFFF;
    private const ulong DataFlatDescriptor = 0x00CF_9200_0000_FFFF;
    private const uint Cr0ProtectionEnable = 0x1;

    /// <summary>Builds the image around <paramref name="body"/>, which emits 32-bit code (its segments and stack already set).</summary>
    public static byte[] Build(Action<Assembler> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        byte[] image = new byte[ImageSize];
        GuestAssembler.Assemble16(asm =>
        {
            asm.cli();
            asm.lgdt(__[GdtrOffset]);
            asm.mov(eax, cr0);
            asm.or(eax, Cr0ProtectionEnable);
            asm.mov(cr0, eax);
            asm.jmp(Code32Selector, BodyOffset);
        }).CopyTo(image, 0);
        byte[] code32 = GuestAssembler.AssembleWithLabels(32, BodyOffset, (asm, _) =>
        {
            asm.mov(ax, DataFlatSelector);
            asm.mov(ds, ax);
            asm.mov(es, ax);
            asm.mov(ss, ax);
            asm.mov(esp, Stack);
            body(asm);
            return [];
        }, out _);
        if (code32.Length > MaxBodyBytes)
        {
            throw new InvalidOperationException($"32-bit body is {code32.Length} bytes, more than {MaxBodyBytes}");
        }

        code32.CopyTo(image, BodyOffset);
        var span = image.AsSpan();
        ulong[] gdt = [0, Code32Descriptor, DataFlatDescriptor];
        for (int i = 0; i < gdt.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[(GdtOffset + (i * 8))..], gdt[i]);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(span[GdtrOffset..], (ushort)((gdt.Length * 8) - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(span[(GdtrOffset + 2)..], (uint)(GuestAssembler.LoadAddress + GdtOffset));
        return image;
    }

    /// <summary>Emits the exit: BL goes to the exit port, then a halt loop.</summary>
    public static void EmitExitWithBl(Assembler asm)
    {
        ArgumentNullException.ThrowIfNull(asm);
        asm.mov(al, bl);
        asm.@out((byte)GuestAssembler.ExitPort, al);
        var halt = asm.CreateLabel();
        asm.Label(ref halt);
        asm.hlt();
        asm.jmp(halt);
    }
}
