using System.Text;
using Iced.Intel;

namespace ActorVmm.Host.Demo;

/// <summary>
/// Builds a kvmtool flat binary: 16-bit code at offset 0 (CS = DS = 0x1000, so offsets are addresses)
/// and NUL-terminated strings at <see cref="DataOffset"/>, whose offsets the code refers to.
/// </summary>
internal sealed class RealModeImage
{
    /// <summary>Offset of the string table; code must stay below it.</summary>
    public const ushort DataOffset = 0x800;

    private readonly List<byte> _data = [];

    /// <summary>The assembler for the code part.</summary>
    public Assembler Code { get; } = new(16);

    /// <summary>Adds a NUL-terminated ASCII string and returns its offset (its address in DS).</summary>
    public ushort AddString(string text)
    {
        ushort offset = checked((ushort)(DataOffset + _data.Count));
        _data.AddRange(Encoding.ASCII.GetBytes(text));
        _data.Add(0);
        return offset;
    }

    /// <summary>Assembles the code and appends the strings.</summary>
    public byte[] Build()
    {
        using var code = new MemoryStream();
        Code.Assemble(new StreamCodeWriter(code), 0);
        if (code.Length > DataOffset)
        {
            throw new InvalidOperationException($"Guest code is {code.Length} bytes, more than the {DataOffset} reserved before its data");
        }

        byte[] image = new byte[DataOffset + _data.Count];
        code.ToArray().CopyTo(image, 0);
        _data.CopyTo(image, DataOffset);
        return image;
    }
}
