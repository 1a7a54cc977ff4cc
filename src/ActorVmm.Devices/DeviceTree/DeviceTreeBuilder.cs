using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace ActorVmm.Devices.DeviceTree;

/// <summary>
/// Builds a device tree for the nodes devices describe (<see cref="IDescribesDeviceTree"/>) on top of
/// <see cref="FdtWriter"/>: typed properties, <c>reg</c> encoded with the parent's <c>#address-cells</c> and
/// <c>#size-cells</c> (checked to fit), GIC interrupt specifiers, phandles, and the aliases and standard output path
/// the platform writes into <c>/aliases</c> and <c>/chosen</c>. Every interrupt specifier is for the tree's one interrupt
/// parent, a GIC with <c>#interrupt-cells = &lt;3&gt;</c>.
/// </summary>
public sealed class DeviceTreeBuilder
{
    /// <summary><c>#address-cells</c> where a node does not say (Devicetree Specification §2.3.5).</summary>
    public const int DefaultAddressCells = 2;

    /// <summary><c>#size-cells</c> where a node does not say.</summary>
    public const int DefaultSizeCells = 1;

    /// <summary>Most cells an address or size may take here (two cover 64 bits; PCI addresses are written cell by cell).</summary>
    public const int MaxCells = 2;

    private readonly FdtWriter _writer = new();
    private readonly Stack<Frame> _frames = new();
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private uint _nextPhandle = 1;

    /// <summary>Aliases by name ("serial0") with the path each names, in the order they were added.</summary>
    public IReadOnlyDictionary<string, string> Aliases => _aliases;

    /// <summary>The phandle of the tree's interrupt controller, once <see cref="DeclareInterruptParent"/> named it; 0 before.</summary>
    public uint InterruptParent { get; private set; }

    /// <summary>The interrupt controller's <c>#address-cells</c> (the parent unit address in an <c>interrupt-map</c> entry).</summary>
    public int InterruptParentAddressCells { get; private set; }

    /// <summary>Path of the node chosen as the console (<c>/chosen/stdout-path</c>), or null.</summary>
    public string? StdoutPath { get; private set; }

    /// <summary>Path of the node begun last.</summary>
    public string CurrentPath => _writer.CurrentPath;

    /// <summary>Adds a memory reservation entry (before the root node).</summary>
    public void AddMemoryReservation(ulong address, ulong size) => _writer.AddMemoryReservation(address, size);

    /// <summary>Begins the root node.</summary>
    public void BeginRoot()
    {
        _writer.BeginNode(string.Empty);
        _frames.Push(new Frame());
    }

    /// <summary>Begins node <paramref name="name"/>, or <c>name@unit</c> with the unit address in lower-case hex.</summary>
    public void BeginNode(string name, ulong? unitAddress = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_frames.Count == 0)
        {
            throw new InvalidOperationException("begin the root node first");
        }

        _writer.BeginNode(unitAddress is { } unit ? $"{name}@{unit.ToString("x", CultureInfo.InvariantCulture)}" : name);
        _frames.Push(new Frame());
    }

    /// <summary>Ends the node begun last.</summary>
    public void EndNode()
    {
        _writer.EndNode();
        _frames.Pop();
    }

    /// <summary>Writes <c>#address-cells</c>: how many cells the addresses of this node's children take.</summary>
    public void AddressCells(int cells)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cells);
        Cell("#address-cells", (uint)cells);
        Current.AddressCells = cells;
    }

    /// <summary>Writes <c>#size-cells</c>: how many cells the sizes of this node's children take.</summary>
    public void SizeCells(int cells)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cells);
        Cell("#size-cells", (uint)cells);
        Current.SizeCells = cells;
    }

    /// <summary>The parent's <c>#address-cells</c>: how this node's <c>reg</c> addresses are written.</summary>
    public int ParentAddressCells => Parent.AddressCells;

    /// <summary>The parent's <c>#size-cells</c>: how this node's <c>reg</c> sizes are written.</summary>
    public int ParentSizeCells => Parent.SizeCells;

    /// <summary>This node's own <c>#address-cells</c> (its children's address width; the default when unset).</summary>
    public int OwnAddressCells => Current.AddressCells;

    /// <summary>This node's own <c>#size-cells</c>.</summary>
    public int OwnSizeCells => Current.SizeCells;

    /// <summary>Writes <c>reg</c> with one (address, size) in the parent's cells.</summary>
    public void Reg(ulong address, ulong size) => Reg([(address, size)]);

    /// <summary>Writes <c>reg</c>: each (address, size) in the parent's cells; a size must be 0 where the parent has no size cells.</summary>
    /// <exception cref="ArgumentException">A value does not fit its cells.</exception>
    public void Reg(params ReadOnlySpan<(ulong Address, ulong Size)> ranges)
    {
        int addressCells = ParentAddressCells, sizeCells = ParentSizeCells;
        if (addressCells > MaxCells || sizeCells > MaxCells)
        {
            throw new InvalidOperationException($"reg under a parent with {addressCells} address and {sizeCells} size cells is written with Cells");
        }

        var cells = new List<uint>();
        foreach (var (address, size) in ranges)
        {
            AppendCells(cells, address, addressCells, "reg address");
            AppendCells(cells, size, sizeCells, "reg size");
        }

        Cells("reg", [.. cells]);
    }

    /// <summary>Writes <c>compatible</c>: the most specific value first.</summary>
    public void Compatible(params ReadOnlySpan<string> values) => Strings("compatible", values);

    /// <summary>Writes a string property (NUL-terminated ASCII).</summary>
    public void String(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Strings(name, [value]);
    }

    /// <summary>Writes a string-list property (each NUL-terminated).</summary>
    public void Strings(string name, params ReadOnlySpan<string> values)
    {
        var bytes = new List<byte>();
        foreach (string value in values)
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Contains('\0', StringComparison.Ordinal) || !Ascii.IsValid(value))
            {
                throw new ArgumentException($"property '{name}': '{value}' is not printable ASCII without NUL", nameof(values));
            }

            bytes.AddRange(Encoding.ASCII.GetBytes(value));
            bytes.Add(0);
        }

        _writer.Property(name, [.. bytes]);
    }

    /// <summary>Writes a one-cell (<c>u32</c>) property.</summary>
    public void Cell(string name, uint value) => Cells(name, [value]);

    /// <summary>Writes a property of big-endian 32-bit cells.</summary>
    public void Cells(string name, params ReadOnlySpan<uint> values)
    {
        var bytes = new byte[values.Length * sizeof(uint)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * sizeof(uint)), values[i]);
        }

        _writer.Property(name, bytes);
    }

    /// <summary>Writes a property with no value (a flag such as <c>interrupt-controller</c>).</summary>
    public void Empty(string name) => _writer.Property(name, []);

    /// <summary>Writes <c>interrupts</c>: one GIC specifier (type, number, trigger) per interrupt.</summary>
    public void Interrupts(params ReadOnlySpan<GicInterrupt> interrupts)
    {
        var cells = new List<uint>();
        foreach (var irq in interrupts)
        {
            AppendInterrupt(cells, irq);
        }

        Cells("interrupts", [.. cells]);
    }

    /// <summary>A new phandle, unique in this tree (1, 2, ...).</summary>
    public uint AllocatePhandle() => _nextPhandle++;

    /// <summary>Writes <c>phandle</c> for this node.</summary>
    public void Phandle(uint phandle)
    {
        if (phandle is 0 or uint.MaxValue || phandle >= _nextPhandle)
        {
            throw new ArgumentOutOfRangeException(nameof(phandle), phandle, "use a phandle from AllocatePhandle");
        }

        Cell("phandle", phandle);
    }

    /// <summary>Records which node is the tree's interrupt controller, for nodes that reference it (<c>interrupt-map</c>).</summary>
    public void DeclareInterruptParent(uint phandle, int addressCells)
    {
        if (phandle is 0 || phandle >= _nextPhandle)
        {
            throw new ArgumentOutOfRangeException(nameof(phandle), phandle, "use a phandle from AllocatePhandle");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(addressCells);
        InterruptParent = phandle;
        InterruptParentAddressCells = addressCells;
    }

    /// <summary>Names this node <c>stem0</c>, <c>stem1</c>, ... in <see cref="Aliases"/> (the next free number); returns the alias.</summary>
    public string AddAlias(string stem)
    {
        ArgumentException.ThrowIfNullOrEmpty(stem);
        int index = 0;
        while (_aliases.ContainsKey($"{stem}{index}"))
        {
            index++;
        }

        string alias = $"{stem}{index}";
        _aliases.Add(alias, CurrentPath);
        return alias;
    }

    /// <summary>Makes this node the console (<c>/chosen/stdout-path</c>); one node may be.</summary>
    public void ChooseAsStdout()
    {
        if (StdoutPath is not null)
        {
            throw new InvalidOperationException($"'{StdoutPath}' is already the console; '{CurrentPath}' cannot be too");
        }

        StdoutPath = CurrentPath;
    }

    /// <summary>Ends the tree and returns the blob.</summary>
    public byte[] Finish(uint bootCpuId = 0) => _writer.Finish(bootCpuId);

    /// <summary>Appends <paramref name="value"/> as <paramref name="count"/> big-endian cells (most significant first).</summary>
    /// <exception cref="ArgumentException">The value needs more cells.</exception>
    public static void AppendCells(List<uint> cells, ulong value, int count, string what)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count < MaxCells && value >> (32 * count) != 0)
        {
            throw new ArgumentException($"{what} 0x{value:X} does not fit in {count} cell(s)");
        }

        for (int i = count - 1; i >= 0; i--)
        {
            cells.Add(i >= MaxCells ? 0 : (uint)(value >> (32 * i)));
        }
    }

    /// <summary>Appends one GIC interrupt specifier (3 cells).</summary>
    public static void AppendInterrupt(List<uint> cells, GicInterrupt interrupt)
    {
        ArgumentNullException.ThrowIfNull(cells);
        cells.Add((uint)interrupt.Type);
        cells.Add(interrupt.Number);
        cells.Add((uint)interrupt.Trigger);
    }

    private Frame Current => _frames.Count > 0 ? _frames.Peek() : throw new InvalidOperationException("no node is open");

    private Frame Parent => _frames.Count > 1 ? _frames.ElementAt(1) : throw new InvalidOperationException("the root node has no parent");

    private sealed class Frame
    {
        public int AddressCells { get; set; } = DefaultAddressCells;

        public int SizeCells { get; set; } = DefaultSizeCells;
    }
}
