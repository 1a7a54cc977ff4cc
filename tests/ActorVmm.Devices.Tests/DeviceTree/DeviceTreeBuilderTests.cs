using ActorVmm.Devices.DeviceTree;
using ActorVmm.Devices.Serial;
using ActorVmm.TestSupport.DeviceTree;

namespace ActorVmm.Devices.Tests.DeviceTree;

public sealed class DeviceTreeBuilderTests
{
    [Fact]
    public void Reg_is_written_in_the_parent_cells_and_refuses_values_that_do_not_fit()
    {
        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();
        tree.AddressCells(1);
        tree.SizeCells(1);
        tree.BeginNode("fits", 0x1000);
        tree.Reg(0x1000, 0x10);
        Assert.Equal(1, tree.ParentAddressCells);
        tree.EndNode();
        tree.BeginNode("wide", 0x1_0000_0000);
        Assert.Throws<ArgumentException>(() => tree.Reg(0x1_0000_0000, 0x10));
        tree.EndNode();
        tree.EndNode();

        var root = FdtReader.Read(tree.Finish()).Root;
        Assert.Equal([0x1000u, 0x10u], root.Find("/fits@1000")!.Cells("reg"));
    }

    [Fact]
    public void Reg_without_size_cells_takes_addresses_only_and_refuses_a_size()
    {
        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();
        tree.AddressCells(1);
        tree.SizeCells(0);
        tree.BeginNode("cpu", 3);
        tree.Reg(3, 0);
        Assert.Throws<ArgumentException>(() => tree.Reg(3, 1));
        tree.EndNode();
        tree.EndNode();

        Assert.Equal([3u], FdtReader.Read(tree.Finish()).Root.Find("/cpu@3")!.Cells("reg"));
    }

    [Fact]
    public void Unset_cells_take_the_specification_defaults()
    {
        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();
        tree.BeginNode("dev", 0x10);

        Assert.Equal(DeviceTreeBuilder.DefaultAddressCells, tree.ParentAddressCells);
        Assert.Equal(DeviceTreeBuilder.DefaultSizeCells, tree.ParentSizeCells);
    }

    [Fact]
    public void Aliases_number_each_stem_and_only_one_node_is_the_console()
    {
        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();
        tree.BeginNode("serial", 0x100);
        Assert.Equal("serial0", tree.AddAlias("serial"));
        tree.ChooseAsStdout();
        tree.EndNode();
        tree.BeginNode("serial", 0x200);
        Assert.Equal("serial1", tree.AddAlias("serial"));
        Assert.Throws<InvalidOperationException>(() => tree.ChooseAsStdout());
        tree.EndNode();

        Assert.Equal("/serial@100", tree.StdoutPath);
        Assert.Equal("/serial@200", tree.Aliases["serial1"]);
    }

    [Fact]
    public void Phandles_are_unique_and_only_allocated_ones_can_be_written()
    {
        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();
        uint first = tree.AllocatePhandle(), second = tree.AllocatePhandle();

        Assert.NotEqual(first, second);
        Assert.NotEqual(0u, first);
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Phandle(second + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Phandle(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.DeclareInterruptParent(second + 1, 2));
    }

    [Fact]
    public void Strings_must_be_ASCII_without_NUL()
    {
        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();

        Assert.Throws<ArgumentException>(() => tree.String("bootargs", "a\0b"));
        Assert.Throws<ArgumentException>(() => tree.String("model", "caf\u00e9"));
    }

    [Fact]
    public void A_port_bus_UART_has_no_node()
    {
        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();

        Assert.Throws<InvalidOperationException>(() => new Uart16550DeviceTreeNode(SerialPortSpec.Com1, IsConsole: false).Describe(tree));
    }

    [Fact]
    public void Interrupt_lines_map_to_SPIs_of_the_same_number_within_the_GIC_range()
    {
        var spi = GicInterrupt.ForLine(4, GicTrigger.LevelHigh);

        Assert.Equal(GicInterruptType.Spi, spi.Type);
        Assert.Equal(4u, spi.Number);
        Assert.Equal(GicInterrupt.FirstSpiIntId + 4, spi.IntId);
        Assert.Throws<ArgumentOutOfRangeException>(() => GicInterrupt.ForLine(-1, GicTrigger.LevelHigh));
        Assert.Throws<ArgumentOutOfRangeException>(() => GicInterrupt.ForLine((int)GicInterrupt.MaxSpi + 1, GicTrigger.LevelHigh));
        Assert.Throws<ArgumentOutOfRangeException>(() => GicInterrupt.Ppi(GicInterrupt.MaxPpi + 1, GicTrigger.LevelHigh));
    }
}
