using System.Buffers.Binary;
using System.Text;
using ActorVmm.Devices.DeviceTree;

namespace ActorVmm.TestSupport.DeviceTree;

/// <summary>One node read back from a blob.</summary>
public sealed class FdtNode(string name, string path)
{
    /// <summary>Name with unit address ("serial@1000000"; "" for the root).</summary>
    public string Name { get; } = name;

    /// <summary>Full path ("/serial@1000000").</summary>
    public string Path { get; } = path;

    /// <summary>Properties in blob order.</summary>
    public List<(string Name, byte[] Value)> Properties { get; } = [];

    /// <summary>Subnodes in blob order.</summary>
    public List<FdtNode> Children { get; } = [];

    /// <summary>The value of <paramref name="property"/>, or null.</summary>
    public byte[]? Get(string property) => Properties.FirstOrDefault(p => p.Name == property).Value;

    /// <summary>True when the node has <paramref name="property"/>.</summary>
    public bool Has(string property) => Properties.Any(p => p.Name == property);

    /// <summary>The property as big-endian cells.</summary>
    public uint[] Cells(string property)
    {
        byte[] value = Get(property) ?? throw new KeyNotFoundException($"{Path} has no '{property}'");
        if (value.Length % 4 != 0)
        {
            throw new InvalidDataException($"{Path}/{property} is {value.Length} bytes, not whole cells");
        }

        return [.. Enumerable.Range(0, value.Length / 4).Select(i => BinaryPrimitives.ReadUInt32BigEndian(value.AsSpan(i * 4)))];
    }

    /// <summary>The property as a string list.</summary>
    public string[] Strings(string property)
    {
        byte[] value = Get(property) ?? throw new KeyNotFoundException($"{Path} has no '{property}'");
        if (value.Length == 0 || value[^1] != 0)
        {
            throw new InvalidDataException($"{Path}/{property} is not NUL-terminated");
        }

        return Encoding.ASCII.GetString(value, 0, value.Length - 1).Split('\0');
    }

    /// <summary>The property as one string.</summary>
    public string String(string property) => Strings(property).Single();

    /// <summary>The subnode named <paramref name="name"/>, or null.</summary>
    public FdtNode? Child(string name) => Children.FirstOrDefault(c => c.Name == name);

    /// <summary>This node and every node below it, depth first.</summary>
    public IEnumerable<FdtNode> Descendants() => Children.SelectMany(c => c.Descendants()).Prepend(this);

    /// <summary>The node at <paramref name="path"/> below this one (the root's "/a/b"), or null.</summary>
    public FdtNode? Find(string path)
    {
        var node = this;
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = node?.Child(part);
        }

        return node;
    }

    /// <summary><c>reg</c> as (address, size) pairs in the given cells (cells of two make 64-bit values).</summary>
    public (ulong Address, ulong Size)[] Reg(int addressCells, int sizeCells)
    {
        uint[] cells = Cells("reg");
        int stride = addressCells + sizeCells;
        if (stride == 0 || cells.Length % stride != 0)
        {
            throw new InvalidDataException($"{Path}/reg has {cells.Length} cells, not a multiple of {stride}");
        }

        return [.. Enumerable.Range(0, cells.Length / stride).Select(i => (Join(cells, i * stride, addressCells), Join(cells, (i * stride) + addressCells, sizeCells)))];
    }

    /// <summary>Joins <paramref name="count"/> cells from <paramref name="start"/> into one value, most significant first.</summary>
    public static ulong Join(uint[] cells, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ulong value = 0;
        for (int i = 0; i < count; i++)
        {
            value = (value << 32) | cells[start + i];
        }

        return value;
    }
}

/// <summary>A blob read back: its header fields, memory reservations and tree.</summary>
public sealed record FdtBlob(
    uint TotalSize,
    uint StructureOffset,
    uint StringsOffset,
    uint ReservationsOffset,
    uint Version,
    uint LastCompatibleVersion,
    uint BootCpuId,
    uint StringsSize,
    uint StructureSize,
    IReadOnlyList<(ulong Address, ulong Size)> Reservations,
    IReadOnlyList<int> TokenOffsets,
    FdtNode Root);

/// <summary>
/// A small, strict reader of flattened device trees for tests (independent of the writer: it only shares the format
/// constants): checks the header, the block bounds, token alignment and nesting, and rebuilds the tree.
/// </summary>
public static class FdtReader
{
    /// <summary>Reads <paramref name="blob"/>; throws <see cref="InvalidDataException"/> on anything malformed.</summary>
    public static FdtBlob Read(byte[] blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        uint Field(int offset) => BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(offset));
        Check(blob.Length >= FdtFormat.HeaderSize, "shorter than the header");
        Check(Field(FdtFormat.MagicOffset) == FdtFormat.Magic, "bad magic");
        uint total = Field(FdtFormat.TotalSizeOffset), structOff = Field(FdtFormat.StructureOffsetOffset), stringsOff = Field(FdtFormat.StringsOffsetOffset);
        uint rsvOff = Field(FdtFormat.ReservationsOffsetOffset), stringsSize = Field(FdtFormat.StringsSizeOffset), structSize = Field(FdtFormat.StructureSizeOffset);
        Check(total == blob.Length, $"totalsize {total} but {blob.Length} bytes");
        Check(rsvOff % FdtFormat.ReservationAlignment == 0 && structOff % FdtFormat.TokenAlignment == 0, "misaligned block");
        Check((ulong)structOff + structSize <= total && (ulong)stringsOff + stringsSize <= total, "block past the end");

        var reservations = new List<(ulong, ulong)>();
        for (int at = (int)rsvOff; ; at += FdtFormat.ReservationEntrySize)
        {
            Check(at + FdtFormat.ReservationEntrySize <= structOff, "reservation block runs into the structure block");
            ulong address = BinaryPrimitives.ReadUInt64BigEndian(blob.AsSpan(at)), size = BinaryPrimitives.ReadUInt64BigEndian(blob.AsSpan(at + 8));
            if (address == 0 && size == 0)
            {
                break;
            }

            reservations.Add((address, size));
        }

        var tokens = new List<int>();
        var stack = new Stack<FdtNode>();
        FdtNode? root = null;
        int pos = (int)structOff, end = (int)(structOff + structSize);
        while (true)
        {
            Check(pos + 4 <= end, "structure block ends without FDT_END");
            Check(pos % FdtFormat.TokenAlignment == 0, "misaligned token");
            tokens.Add(pos);
            uint token = Field(pos);
            pos += 4;
            switch (token)
            {
                case FdtFormat.BeginNodeToken:
                {
                    int nul = Array.IndexOf(blob, (byte)0, pos, end - pos);
                    Check(nul >= 0, "unterminated node name");
                    string name = Encoding.ASCII.GetString(blob, pos, nul - pos);
                    pos = Align(nul + 1);
                    string path = stack.Count == 0 ? "/" : (stack.Peek().Path == "/" ? "/" : stack.Peek().Path + "/") + name;
                    var node = new FdtNode(name, path);
                    if (stack.Count == 0)
                    {
                        Check(root is null && name.Length == 0, "a second root, or a named root");
                        root = node;
                    }
                    else
                    {
                        stack.Peek().Children.Add(node);
                    }

                    stack.Push(node);
                    break;
                }

                case FdtFormat.EndNodeToken:
                    Check(stack.Count > 0, "FDT_END_NODE without a node");
                    stack.Pop();
                    break;
                case FdtFormat.PropToken:
                {
                    Check(stack.Count > 0 && stack.Peek().Children.Count == 0, "property outside a node or after its subnodes");
                    int length = (int)Field(pos), nameOffset = (int)Field(pos + 4);
                    pos += 8;
                    Check(nameOffset < stringsSize && pos + length <= end, "property name or value out of bounds");
                    int nameStart = (int)stringsOff + nameOffset;
                    int nameEnd = Array.IndexOf(blob, (byte)0, nameStart, (int)(stringsOff + stringsSize) - nameStart);
                    Check(nameEnd >= 0, "unterminated property name");
                    stack.Peek().Properties.Add((Encoding.ASCII.GetString(blob, nameStart, nameEnd - nameStart), blob[pos..(pos + length)]));
                    pos = Align(pos + length);
                    break;
                }

                case FdtFormat.NopToken:
                    break;
                case FdtFormat.EndToken:
                    Check(stack.Count == 0 && root is not null, "FDT_END inside a node or before the root");
                    Check(pos == end, "bytes after FDT_END in the structure block");
                    return new FdtBlob(
                        total, structOff, stringsOff, rsvOff, Field(FdtFormat.VersionOffset), Field(FdtFormat.LastCompatibleVersionOffset),
                        Field(FdtFormat.BootCpuIdOffset), stringsSize, structSize, reservations, tokens, root!);
                default:
                    throw new InvalidDataException($"unknown token 0x{token:X} at {pos - 4}");
            }
        }
    }

    private static int Align(int value) => (value + FdtFormat.TokenAlignment - 1) & ~(FdtFormat.TokenAlignment - 1);

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidDataException($"malformed FDT: {what}");
        }
    }
}
