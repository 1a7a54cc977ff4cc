using System.Buffers.Binary;
using System.Text;

namespace ActorVmm.Devices.DeviceTree;

/// <summary>
/// Writes a flattened device tree blob (<see cref="FdtFormat"/>) in one pass, as libfdt's sequential-write API does:
/// memory reservations, then one root node with its properties and subnodes, then <see cref="Finish"/>. Property names
/// are stored once in the strings block however often they are used, and a name that is the tail of one already stored
/// points into it, as dtc does, so a tree written here has the same bytes as dtc's blob of it. Checks what the specification requires of the
/// structure (one root, names within the allowed characters and lengths, properties before subnodes, no duplicate
/// property or node names in a node, balanced nodes) and throws <see cref="InvalidOperationException"/> or
/// <see cref="ArgumentException"/> when a caller breaks it, so no malformed blob is produced.
/// </summary>
public sealed class FdtWriter
{
    private readonly List<(ulong Address, ulong Size)> _reservations = [];
    private readonly List<byte> _structure = [];
    private readonly List<byte> _strings = [];
    private readonly Dictionary<string, int> _stringOffsets = new(StringComparer.Ordinal);
    private readonly Stack<OpenNode> _open = new();
    private bool _rootWritten;
    private bool _finished;

    /// <summary>Nodes begun and not yet ended (0 before the root and after it ends).</summary>
    public int Depth => _open.Count;

    /// <summary>Adds a memory reservation entry (a range the client must not use as ordinary RAM).</summary>
    /// <exception cref="ArgumentException">The size is zero or the range wraps.</exception>
    /// <exception cref="InvalidOperationException">The structure block has been started.</exception>
    public void AddMemoryReservation(ulong address, ulong size)
    {
        EnsureNotFinished();
        if (_rootWritten)
        {
            throw new InvalidOperationException("memory reservations come before the root node");
        }

        if (size == 0 || address + size - 1 < address)
        {
            throw new ArgumentException($"reservation 0x{address:X}+0x{size:X} is empty or wraps");
        }

        _reservations.Add((address, size));
    }

    /// <summary>Begins a node: the root (name "") first, then subnodes named <c>node-name[@unit-address]</c>.</summary>
    public void BeginNode(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        EnsureNotFinished();
        if (_open.Count == 0)
        {
            if (_rootWritten)
            {
                throw new InvalidOperationException("a device tree has one root node");
            }

            if (name.Length != 0)
            {
                throw new ArgumentException($"the root node's name is empty, not '{name}'", nameof(name));
            }

            _rootWritten = true;
        }
        else
        {
            ValidateNodeName(name);
            var parent = _open.Peek();
            if (!parent.Children.Add(name))
            {
                throw new InvalidOperationException($"node '{parent.Path}' already has a subnode '{name}'");
            }

            parent.HasChildren = true;
        }

        AppendToken(FdtFormat.BeginNodeToken);
        AppendStringPadded(name);
        _open.Push(new OpenNode(_open.Count == 0 ? "/" : Combine(_open.Peek().Path, name)));
    }

    /// <summary>Adds a property to the node begun last; all of a node's properties come before its subnodes.</summary>
    public void Property(string name, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(name);
        EnsureNotFinished();
        ValidatePropertyName(name);
        if (_open.Count == 0)
        {
            throw new InvalidOperationException($"property '{name}' outside any node");
        }

        var node = _open.Peek();
        if (node.HasChildren)
        {
            throw new InvalidOperationException($"property '{name}' of '{node.Path}' after its subnodes: properties come first");
        }

        if (!node.Properties.Add(name))
        {
            throw new InvalidOperationException($"node '{node.Path}' already has a property '{name}'");
        }

        AppendToken(FdtFormat.PropToken);
        AppendUInt32((uint)value.Length);
        AppendUInt32((uint)StringOffset(name));
        foreach (byte b in value)
        {
            _structure.Add(b);
        }

        PadStructure();
    }

    /// <summary>Writes an FDT_NOP token (readers skip it; useful to blank out a property in place).</summary>
    public void Nop()
    {
        EnsureNotFinished();
        AppendToken(FdtFormat.NopToken);
    }

    /// <summary>Ends the node begun last.</summary>
    public void EndNode()
    {
        EnsureNotFinished();
        if (_open.Count == 0)
        {
            throw new InvalidOperationException("no node is open");
        }

        _open.Pop();
        AppendToken(FdtFormat.EndNodeToken);
    }

    /// <summary>Path of the node begun last ("/" for the root).</summary>
    /// <exception cref="InvalidOperationException">No node is open.</exception>
    public string CurrentPath => _open.Count > 0 ? _open.Peek().Path : throw new InvalidOperationException("no node is open");

    /// <summary>Ends the structure block and returns the blob; the writer cannot be used afterwards.</summary>
    /// <param name="bootCpuId">The boot CPU's <c>reg</c> value (<c>boot_cpuid_phys</c>).</param>
    /// <exception cref="InvalidOperationException">No root node was written, or a node is still open.</exception>
    public byte[] Finish(uint bootCpuId = 0)
    {
        EnsureNotFinished();
        if (!_rootWritten || _open.Count != 0)
        {
            throw new InvalidOperationException(_rootWritten ? $"node '{_open.Peek().Path}' is still open" : "a device tree needs a root node");
        }

        AppendToken(FdtFormat.EndToken);
        _finished = true;

        // Header, then the reservation block (8-aligned: the header is 40 bytes), the structure block right after it
        // (4-aligned since reservation entries are 16 bytes), then the strings, which need no alignment.
        int reservationsOffset = FdtFormat.HeaderSize;
        int structureOffset = reservationsOffset + ((_reservations.Count + 1) * FdtFormat.ReservationEntrySize);
        int stringsOffset = structureOffset + _structure.Count;
        int totalSize = stringsOffset + _strings.Count;

        var blob = new byte[totalSize];
        var header = blob.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.MagicOffset..], FdtFormat.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.TotalSizeOffset..], (uint)totalSize);
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.StructureOffsetOffset..], (uint)structureOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.StringsOffsetOffset..], (uint)stringsOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.ReservationsOffsetOffset..], (uint)reservationsOffset);
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.VersionOffset..], FdtFormat.Version);
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.LastCompatibleVersionOffset..], FdtFormat.LastCompatibleVersion);
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.BootCpuIdOffset..], bootCpuId);
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.StringsSizeOffset..], (uint)_strings.Count);
        BinaryPrimitives.WriteUInt32BigEndian(header[FdtFormat.StructureSizeOffset..], (uint)_structure.Count);

        int at = reservationsOffset;
        foreach (var (address, size) in _reservations)
        {
            BinaryPrimitives.WriteUInt64BigEndian(blob.AsSpan(at), address);
            BinaryPrimitives.WriteUInt64BigEndian(blob.AsSpan(at + 8), size);
            at += FdtFormat.ReservationEntrySize;
        }

        // The terminating all-zero entry is already zero.
        _structure.CopyTo(blob, structureOffset);
        _strings.CopyTo(blob, stringsOffset);
        return blob;
    }

    /// <summary>True for a valid node name: node-name (1..31 of [0-9a-zA-Z,._+-], starting with a letter) and an optional @unit-address.</summary>
    public static bool IsValidNodeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int at = name.IndexOf('@', StringComparison.Ordinal);
        string nodeName = at < 0 ? name : name[..at];
        if (nodeName.Length is 0 or > FdtFormat.MaxNameLength || !char.IsAsciiLetter(nodeName[0]) || !nodeName.All(IsNodeNameChar))
        {
            return false;
        }

        // The unit address uses the same characters; "name@" alone is not a unit address.
        return at < 0 || (name.Length > at + 1 && name[(at + 1)..].All(IsNodeNameChar));
    }

    /// <summary>True for a valid property name: 1..31 of [0-9a-zA-Z,._+?#-].</summary>
    public static bool IsValidPropertyName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Length is > 0 and <= FdtFormat.MaxNameLength && name.All(c => IsNodeNameChar(c) || c is '?' or '#');
    }

    private static bool IsNodeNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is ',' or '.' or '_' or '+' or '-';

    private static void ValidateNodeName(string name)
    {
        if (!IsValidNodeName(name))
        {
            throw new ArgumentException($"'{name}' is not a node name: 1 to {FdtFormat.MaxNameLength} of [0-9a-zA-Z,._+-] starting with a letter, then an optional @unit-address", nameof(name));
        }
    }

    private static void ValidatePropertyName(string name)
    {
        if (!IsValidPropertyName(name))
        {
            throw new ArgumentException($"'{name}' is not a property name: 1 to {FdtFormat.MaxNameLength} of [0-9a-zA-Z,._+?#-]", nameof(name));
        }
    }

    private static string Combine(string parent, string name) => parent == "/" ? "/" + name : parent + "/" + name;

    private void EnsureNotFinished()
    {
        if (_finished)
        {
            throw new InvalidOperationException("the device tree is finished");
        }
    }

    private int StringOffset(string name)
    {
        if (!_stringOffsets.TryGetValue(name, out int offset))
        {
            // Like dtc, reuse any NUL-terminated tail already in the block ("method" inside "enable-method"), so the
            // same tree gives the same bytes as dtc writes. A later append cannot create an earlier match, so the
            // cached offset stays the first one.
            byte[] wanted = [.. Encoding.ASCII.GetBytes(name), 0];
            offset = IndexOf(_strings, wanted);
            if (offset < 0)
            {
                offset = _strings.Count;
                _strings.AddRange(wanted);
            }

            _stringOffsets.Add(name, offset);
        }

        return offset;
    }

    private static int IndexOf(List<byte> haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Count; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j])
            {
                j++;
            }

            if (j == needle.Length)
            {
                return i;
            }
        }

        return -1;
    }

    private void AppendToken(uint token) => AppendUInt32(token);

    private void AppendUInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        foreach (byte b in bytes)
        {
            _structure.Add(b);
        }
    }

    private void AppendStringPadded(string value)
    {
        _structure.AddRange(Encoding.ASCII.GetBytes(value));
        _structure.Add(0);
        PadStructure();
    }

    private void PadStructure()
    {
        while (_structure.Count % FdtFormat.TokenAlignment != 0)
        {
            _structure.Add(0);
        }
    }

    private sealed class OpenNode(string path)
    {
        public string Path { get; } = path;

        public HashSet<string> Properties { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Children { get; } = new(StringComparer.Ordinal);

        public bool HasChildren { get; set; }
    }
}
