using static Iced.Intel.AssemblerRegisters;

namespace ActorVmm.TestGuests;

/// <summary>
/// Wraps a flat binary as a 64 KiB firmware image for QEMU's <c>-bios</c>, so the same guest runs under QEMU as the
/// reference: the image sits at the ROM's start and its reset vector copies it to 0x10000 and enters it at 1000:0000
/// with the segments and stack of guest-conventions.md (interrupts off). The ROM is mapped below 4 GiB and, for 64 KiB,
/// also at 0xF0000, where the copy reads it from.
/// </summary>
public static class FlatBiosImage
{
    /// <summary>Image size (QEMU takes firmware in multiples of 64 KiB).</summary>
    public const int Size = 0x1_0000;

    /// <summary>Largest flat binary it holds (the stub and reset vector take the last 4 KiB).</summary>
    public const int MaxFlatBytes = StubOffset;

    /// <summary>Real-mode segment of the ROM's copy below 1 MiB (0xF0000).</summary>
    public const ushort RomSegment = 0xF000;

    /// <summary>Where the stub lies in the ROM (and its offset in <see cref="RomSegment"/>).</summary>
    private const int StubOffset = 0xF000;

    /// <summary>The reset vector: the CPU starts at CS base 0xFFFF0000, IP 0xFFF0, the ROM's last 16 bytes.</summary>
    private const int ResetVectorOffset = 0xFFF0;

    /// <summary>The flat binaries' segment (0x10000 / 16).</summary>
    private const ushort FlatSegment = (ushort)(GuestAssembler.LoadAddress >> 4);

    /// <summary>SP at entry (guest-conventions.md).</summary>
    private const ushort FlatStackPointer = 0x8000;

    /// <summary>Builds the ROM around <paramref name="flat"/>.</summary>
    /// <exception cref="ArgumentException">The binary is empty or larger than <see cref="MaxFlatBytes"/>.</exception>
    public static byte[] Wrap(byte[] flat)
    {
        ArgumentNullException.ThrowIfNull(flat);
        if (flat.Length is 0 or > MaxFlatBytes)
        {
            throw new ArgumentException($"a flat binary of 1 to {MaxFlatBytes} bytes fits the ROM, not {flat.Length}", nameof(flat));
        }

        byte[] rom = new byte[Size];
        flat.CopyTo(rom, 0);
        byte[] stub = GuestAssembler.Assemble16(asm =>
        {
            asm.cli();
            asm.cld();
            asm.mov(ax, RomSegment);
            asm.mov(ds, ax);
            asm.mov(ax, FlatSegment);
            asm.mov(es, ax);
            asm.xor(si, si);
            asm.xor(di, di);
            asm.mov(cx, (ushort)flat.Length);
            asm.rep.movsb();
            asm.mov(ds, ax);
            asm.mov(ss, ax);
            asm.mov(fs, ax);
            asm.mov(gs, ax);
            asm.mov(sp, FlatStackPointer);
            asm.jmp(FlatSegment, 0);
        });
        stub.CopyTo(rom, StubOffset);
        GuestAssembler.Assemble16(asm => asm.jmp(RomSegment, StubOffset)).CopyTo(rom, ResetVectorOffset);
        return rom;
    }
}
