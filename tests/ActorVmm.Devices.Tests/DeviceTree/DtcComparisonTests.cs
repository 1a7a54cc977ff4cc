using ActorVmm.Devices.DeviceTree;
using ActorVmm.Devices.Platforms;
using ActorVmm.TestSupport.DeviceTree;

namespace ActorVmm.Devices.Tests.DeviceTree;

/// <summary>The writer against the reference compiler: same bytes as dtc, and no dtc warning with every check enabled.</summary>
public sealed class DtcComparisonTests
{
    private const string Source = """
        /dts-v1/;
        /memreserve/ 0x10000000 0x4000;
        / {
        	compatible = "vendor,board", "generic";
        	#address-cells = <2>;
        	#size-cells = <1>;
        	cpus {
        		enable-method = "psci";
        	};
        	psci {
        		method = "hvc";
        		flag;
        	};
        	dev@12345678 {
        		reg = <0x0 0x12345678 0x100>;
        		values = <1 0xffffffff 0>;
        	};
        };
        """;

    [Fact]
    public void Writer_output_is_byte_identical_to_dtc_compiling_the_same_source()
    {
        var (result, fromDtc) = Dtc.Compile(Source);
        Assert.True(result.ExitCode == 0, result.Stderr);

        var tree = new DeviceTreeBuilder();
        tree.AddMemoryReservation(0x1000_0000, 0x4000);
        tree.BeginRoot();
        tree.Compatible("vendor,board", "generic");
        tree.AddressCells(2);
        tree.SizeCells(1);
        tree.BeginNode("cpus");
        tree.String("enable-method", "psci");
        tree.EndNode();
        tree.BeginNode("psci");
        tree.String("method", "hvc");
        tree.Empty("flag");
        tree.EndNode();
        tree.BeginNode("dev", 0x1234_5678);
        tree.Reg(0x1234_5678, 0x100);
        tree.Cells("values", 1, 0xFFFF_FFFF, 0);
        tree.EndNode();
        tree.EndNode();

        Assert.Equal(fromDtc, tree.Finish());
    }

    [Theory]
    [MemberData(nameof(Arm64Trees.Configurations), MemberType = typeof(Arm64Trees))]
    public void Arm64_trees_come_back_byte_identical_when_dtc_reads_and_rewrites_them(int cpus, ulong ram, int virtio, bool pci)
    {
        byte[] blob = Arm64DeviceTree.Build(Arm64Trees.Options(cpus, ram, virtio, pci, "console=ttyS0 earlycon"));

        var (result, rewritten) = Dtc.Rewrite(blob);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(rewritten, blob);
    }

    [Theory]
    [MemberData(nameof(Arm64Trees.Configurations), MemberType = typeof(Arm64Trees))]
    public void Arm64_trees_decompile_without_a_dtc_warning_with_every_check_enabled(int cpus, ulong ram, int virtio, bool pci)
    {
        var result = Dtc.Decompile(Arm64DeviceTree.Build(Arm64Trees.Options(cpus, ram, virtio, pci, "console=ttyS0")));

        Assert.Equal(0, result.ExitCode);
        Assert.Empty(result.StderrLines);
        Assert.StartsWith("/dts-v1/;", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void The_dtc_checks_do_report_a_broken_tree()
    {
        // A node with reg but no unit address, and an interrupt controller that does not state #address-cells.
        var tree = new DeviceTreeBuilder();
        tree.BeginRoot();
        tree.AddressCells(2);
        tree.SizeCells(2);
        tree.BeginNode("device");
        tree.Reg(0x1000, 0x100);
        tree.EndNode();
        tree.BeginNode("intc");
        tree.Empty("interrupt-controller");
        tree.Cell("#interrupt-cells", 3);
        tree.EndNode();
        tree.EndNode();

        var result = Dtc.Decompile(tree.Finish());

        Assert.Contains(result.StderrLines, line => line.Contains("unit_address_vs_reg", StringComparison.Ordinal));
        Assert.Contains(result.StderrLines, line => line.Contains("interrupt_provider", StringComparison.Ordinal));
    }
}
