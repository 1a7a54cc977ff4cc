using Iced.Intel;

namespace ActorVmm.TestGuests;

/// <summary>Assembles a flat binary that starts in 16-bit real mode at offset 0 (kvmtool flat-binary convention).</summary>
public static class GuestAssembler
{
    /// <summary>Guest-physical load address of flat binaries.</summary>
    public const ulong LoadAddress = 0x10000;

    /// <summary>The exit port (guest-conventions.md).</summary>
    public const ushort ExitPort = 0xF4;

    /// <summary>Assembles 16-bit code; <paramref name="build"/> emits instructions into the assembler.</summary>
    public static byte[] Assemble16(Action<Assembler> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        var asm = new Assembler(16);
        build(asm);
        using var stream = new MemoryStream();
        // RIP is the offset inside CS (base 0x10000), so labels resolve relative to 0.
        asm.Assemble(new StreamCodeWriter(stream), 0);
        return stream.ToArray();
    }

    /// <summary>Offset inside the image (and inside DS = CS) where <see cref="Assemble16(Action{Assembler}, byte[])"/> places data.</summary>
    public const ushort DataOffset = 0x800;

    /// <summary>Assembles 16-bit code and appends <paramref name="data"/> at <see cref="DataOffset"/> (code must be shorter).</summary>
    public static byte[] Assemble16(Action<Assembler> build, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        byte[] code = Assemble16(build);
        if (code.Length > DataOffset)
        {
            throw new InvalidOperationException($"Guest code is {code.Length} bytes, more than the {DataOffset} reserved before its data");
        }

        byte[] image = new byte[DataOffset + data.Length];
        code.CopyTo(image, 0);
        data.CopyTo(image, DataOffset);
        return image;
    }

    /// <summary>Emits <c>mov al, status; out 0xF4, al</c> then a halt loop in case the exit port is absent.</summary>
    public static void EmitExit(Assembler asm, byte status)
    {
        ArgumentNullException.ThrowIfNull(asm);
        var halt = asm.CreateLabel();
        asm.mov(AssemblerRegisters.al, status);
        asm.@out((byte)ExitPort, AssemblerRegisters.al);
        asm.Label(ref halt);
        asm.hlt();
        asm.jmp(halt);
    }
}
