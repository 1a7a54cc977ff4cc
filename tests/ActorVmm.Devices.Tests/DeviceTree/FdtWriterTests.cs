using System.Buffers.Binary;
using System.Text;
using ActorVmm.Devices.DeviceTree;
using ActorVmm.TestSupport.DeviceTree;

namespace ActorVmm.Devices.Tests.DeviceTree;

public sealed class FdtWriterTests
{
    private const ulong ReservedAddress = 0x1000, ReservedSize = 0x2000;
    private const uint BootCpu = 3;

    /// <summary>/ { compatible = "a"; node@1 { reg = &lt;1&gt;; }; } with one reservation.</summary>
    private static byte[] TinyTree()
    {
        var fdt = new FdtWriter();
        fdt.AddMemoryReservation(ReservedAddress, ReservedSize);
        fdt.BeginNode(string.Empty);
        fdt.Property("compatible", "a\0"u8);
        fdt.BeginNode("node@1");
        fdt.Property("reg", [0, 0, 0, 1]);
        fdt.EndNode();
        fdt.EndNode();
        return fdt.Finish(BootCpu);
    }

    private static byte[] BigEndian(params uint[] words)
    {
        var bytes = new byte[words.Length * 4];
        for (int i = 0; i < words.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), words[i]);
        }

        return bytes;
    }

    private static uint Field(byte[] blob, int offset) => BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(offset));

    [Fact]
    public void Tiny_tree_is_laid_out_byte_for_byte_as_the_specification_describes()
    {
        // Header, two reservation entries (ours and the terminator), the structure block, then "compatible\0reg\0".
        int structureOffset = FdtFormat.HeaderSize + (2 * FdtFormat.ReservationEntrySize);
        byte[] structure =
        [
            .. BigEndian(FdtFormat.BeginNodeToken, 0),                    // root: empty name, NUL padded to 4
            .. BigEndian(FdtFormat.PropToken, 2, 0), .. "a\0\0\0"u8,      // compatible, name offset 0, "a\0" padded
            .. BigEndian(FdtFormat.BeginNodeToken), .. "node@1\0\0"u8,   // 7 bytes of name padded to 8
            .. BigEndian(FdtFormat.PropToken, 4, 11, 1),                  // reg at name offset 11 ("compatible\0" before it)
            .. BigEndian(FdtFormat.EndNodeToken, FdtFormat.EndNodeToken, FdtFormat.EndToken),
        ];
        byte[] strings = Encoding.ASCII.GetBytes("compatible\0reg\0");
        int stringsOffset = structureOffset + structure.Length;
        byte[] expected =
        [
            .. BigEndian(
                FdtFormat.Magic,
                (uint)(stringsOffset + strings.Length),
                (uint)structureOffset,
                (uint)stringsOffset,
                FdtFormat.HeaderSize,
                FdtFormat.Version,
                FdtFormat.LastCompatibleVersion,
                BootCpu,
                (uint)strings.Length,
                (uint)structure.Length),
            .. BigEndian(0, (uint)ReservedAddress, 0, (uint)ReservedSize, 0, 0, 0, 0),
            .. structure,
            .. strings,
        ];

        Assert.Equal(expected, TinyTree());
    }

    [Fact]
    public void Header_fields_describe_the_blocks_and_version_17_compatible_with_16()
    {
        byte[] blob = TinyTree();
        var read = FdtReader.Read(blob);

        Assert.Equal(FdtFormat.Magic, Field(blob, FdtFormat.MagicOffset));
        Assert.Equal((uint)blob.Length, read.TotalSize);
        Assert.Equal(17u, read.Version);
        Assert.Equal(16u, read.LastCompatibleVersion);
        Assert.Equal(BootCpu, read.BootCpuId);
        Assert.Equal((uint)FdtFormat.HeaderSize, read.ReservationsOffset);
        Assert.Equal(read.StructureOffset + read.StructureSize, read.StringsOffset);
        Assert.Equal(read.StringsOffset + read.StringsSize, read.TotalSize);
        Assert.Equal([(ReservedAddress, ReservedSize)], read.Reservations);
    }

    [Fact]
    public void Blocks_and_every_token_are_aligned()
    {
        var fdt = new FdtWriter();
        fdt.BeginNode(string.Empty);

        // Values and names of every length modulo 4, so each kind of padding occurs.
        for (int length = 0; length < 8; length++)
        {
            fdt.Property($"p{length}", new byte[length]);
        }

        foreach (string name in new[] { "a", "ab", "abc", "abcd", "abcde" })
        {
            fdt.BeginNode(name);
            fdt.Nop();
            fdt.EndNode();
        }

        fdt.EndNode();
        var read = FdtReader.Read(fdt.Finish());

        Assert.Equal(0u, read.ReservationsOffset % FdtFormat.ReservationAlignment);
        Assert.Equal(0u, read.StructureOffset % FdtFormat.TokenAlignment);
        Assert.All(read.TokenOffsets, offset => Assert.Equal(0, offset % FdtFormat.TokenAlignment));
        Assert.Equal(Enumerable.Range(0, 8).Select(n => new byte[n]), read.Root.Properties.Select(p => p.Value));
        Assert.Equal(new[] { "a", "ab", "abc", "abcd", "abcde" }, read.Root.Children.Select(c => c.Name));
    }

    [Fact]
    public void Property_names_are_stored_once_and_tails_of_stored_names_point_into_them()
    {
        var fdt = new FdtWriter();
        fdt.BeginNode(string.Empty);
        fdt.Property("enable-method", "psci\0"u8);
        fdt.BeginNode("a");
        fdt.Property("compatible", "x\0"u8);
        fdt.Property("method", "hvc\0"u8);
        fdt.EndNode();
        fdt.BeginNode("b");
        fdt.Property("compatible", "y\0"u8);
        fdt.EndNode();
        fdt.EndNode();
        byte[] blob = fdt.Finish();
        var read = FdtReader.Read(blob);

        string strings = Encoding.ASCII.GetString(blob, (int)read.StringsOffset, (int)read.StringsSize);
        Assert.Equal("enable-method\0compatible\0", strings);
        Assert.Equal("method", read.Root.Find("/a")!.Properties[1].Name);
        Assert.Equal(["x\0"u8.ToArray(), "y\0"u8.ToArray()], read.Root.Descendants().Where(n => n.Has("compatible")).Select(n => n.Get("compatible")!));
    }

    [Fact]
    public void Properties_after_a_subnode_are_refused()
    {
        var fdt = new FdtWriter();
        fdt.BeginNode(string.Empty);
        fdt.BeginNode("child");
        fdt.EndNode();

        var ex = Assert.Throws<InvalidOperationException>(() => fdt.Property("late", []));
        Assert.Contains("properties come first", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_property_and_node_names_in_one_node_are_refused()
    {
        var fdt = new FdtWriter();
        fdt.BeginNode(string.Empty);
        fdt.Property("reg", []);
        Assert.Throws<InvalidOperationException>(() => fdt.Property("reg", []));
        fdt.BeginNode("x@1");
        fdt.EndNode();
        Assert.Throws<InvalidOperationException>(() => fdt.BeginNode("x@1"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1abc")]
    [InlineData("has space")]
    [InlineData("name@")]
    [InlineData("a/b")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")]
    public void Bad_node_names_are_refused(string name)
    {
        var fdt = new FdtWriter();
        fdt.BeginNode(string.Empty);

        Assert.False(FdtWriter.IsValidNodeName(name));
        Assert.Throws<ArgumentException>(() => fdt.BeginNode(name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("with space")]
    [InlineData("slash/")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")]
    public void Bad_property_names_are_refused(string name)
    {
        var fdt = new FdtWriter();
        fdt.BeginNode(string.Empty);

        Assert.False(FdtWriter.IsValidPropertyName(name));
        Assert.Throws<ArgumentException>(() => fdt.Property(name, []));
    }

    [Fact]
    public void Finish_needs_exactly_one_closed_root()
    {
        Assert.Throws<InvalidOperationException>(() => new FdtWriter().Finish());

        var open = new FdtWriter();
        open.BeginNode(string.Empty);
        open.BeginNode("child");
        Assert.Contains("/child", Assert.Throws<InvalidOperationException>(() => open.Finish()).Message, StringComparison.Ordinal);

        var twice = new FdtWriter();
        twice.BeginNode(string.Empty);
        twice.EndNode();
        Assert.Throws<InvalidOperationException>(() => twice.BeginNode(string.Empty));
        Assert.Throws<ArgumentException>(() => new FdtWriter().BeginNode("named-root"));
    }

    [Fact]
    public void Reservations_come_before_the_root_and_may_not_be_empty_or_wrap()
    {
        var fdt = new FdtWriter();
        Assert.Throws<ArgumentException>(() => fdt.AddMemoryReservation(0x1000, 0));
        Assert.Throws<ArgumentException>(() => fdt.AddMemoryReservation(ulong.MaxValue, 2));
        fdt.BeginNode(string.Empty);
        Assert.Throws<InvalidOperationException>(() => fdt.AddMemoryReservation(ReservedAddress, ReservedSize));
    }

    [Fact]
    public void A_finished_writer_accepts_nothing_more()
    {
        var fdt = new FdtWriter();
        fdt.BeginNode(string.Empty);
        fdt.EndNode();
        fdt.Finish();

        Assert.Throws<InvalidOperationException>(() => fdt.Nop());
        Assert.Throws<InvalidOperationException>(() => fdt.Finish());
    }
}
