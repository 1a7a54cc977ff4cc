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
    /// <summary>
    /// Assembles code that needs label addresses as immediates (IVT/IDT entries): <paramref name="build"/> runs twice,
    /// first with every address reading 0, then with the addresses found; it returns the labels it wants resolved
    /// (created with a name). Instructions must not change size with the values (use fixed-size immediates).
    /// </summary>
    public static byte[] AssembleWithLabels(int bitness, ulong origin, Func<Assembler, Func<string, ulong>, Label[]> build, out IReadOnlyDictionary<string, ulong> labels)
    {
        ArgumentNullException.ThrowIfNull(build);
        var found = new Dictionary<string, ulong>(StringComparer.Ordinal);
        byte[] first = AssemblePass(bitness, origin, build, _ => 0, found);
        var resolved = new Dictionary<string, ulong>(found, StringComparer.Ordinal);
        var second = new Dictionary<string, ulong>(StringComparer.Ordinal);
        byte[] code = AssemblePass(bitness, origin, build, name => resolved.TryGetValue(name, out ulong a) ? a : throw new InvalidOperationException($"Label '{name}' was not returned by the builder"), second);
        if (code.Length != first.Length || second.Any(kv => resolved[kv.Key] != kv.Value))
        {
            throw new InvalidOperationException("Label addresses moved between passes; use fixed-size immediates for label addresses");
        }

        labels = resolved;
        return code;
    }

    /// <summary>16-bit flat binary with label addresses (offsets inside CS) and optional data at <see cref="DataOffset"/>.</summary>
    public static byte[] Assemble16WithLabels(Func<Assembler, Func<string, ushort>, Label[]> build, byte[]? data = null)
    {
        ArgumentNullException.ThrowIfNull(build);
        byte[] code = AssembleWithLabels(16, 0, (asm, address) => build(asm, name => (ushort)address(name)), out _);
        if (data is null)
        {
            return code;
        }

        if (code.Length > DataOffset)
        {
            throw new InvalidOperationException($"Guest code is {code.Length} bytes, more than the {DataOffset} reserved before its data");
        }

        byte[] image = new byte[DataOffset + data.Length];
        code.CopyTo(image, 0);
        data.CopyTo(image, DataOffset);
        return image;
    }

    private static byte[] AssemblePass(int bitness, ulong origin, Func<Assembler, Func<string, ulong>, Label[]> build, Func<string, ulong> address, Dictionary<string, ulong> found)
    {
        var asm = new Assembler(bitness);
        Label[] wanted = build(asm, address);
        using var stream = new MemoryStream();
        var result = asm.Assemble(new StreamCodeWriter(stream), origin, BlockEncoderOptions.ReturnNewInstructionOffsets);
        foreach (var label in wanted)
        {
            found[label.Name ?? throw new InvalidOperationException("Resolved labels need a name")] = result.GetLabelRIP(label);
        }

        return stream.ToArray();
    }
}
