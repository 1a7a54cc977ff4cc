using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Host.Cli;
using ActorVmm.Machine.Layout;
using ActorVmm.TestSupport.DeviceTree;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary><c>actorvmm dtb</c> as a process: the file it writes, and bad input.</summary>
public sealed class DtbCommandTests : IDisposable
{
    private const ulong Ram = 256UL << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-dtb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task Writes_the_same_tree_the_platform_builds_for_those_options_and_dtc_reads_it_without_warnings()
    {
        string output = PathOf("x.dtb");

        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, "dtb", "--arch", "arm64", "-m", "256M", "-c", "2", "--rng", "-o", output);

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal(string.Empty, stderr);
        var layout = MemoryMap.Arm64.Layout(Ram);
        var expected = Arm64DeviceTree.Build(new Arm64DeviceTreeOptions(layout, 2)
        {
            Devices = VirtioMmioDeviceTreeNode.Place(layout.Window("virtio-mmio"), Arm64Platform.VirtioMmioIrqs, 1),
        });
        byte[] written = await File.ReadAllBytesAsync(output);
        Assert.Equal(expected, written);
        var dtc = Dtc.Decompile(written);
        Assert.Equal(0, dtc.ExitCode);
        Assert.Empty(dtc.StderrLines);
    }

    [Fact]
    public async Task Disks_and_rng_get_one_transport_each_and_pci_and_params_reach_the_tree()
    {
        string disk = PathOf("disk.img");
        await File.WriteAllBytesAsync(disk, new byte[4096]);
        string output = PathOf("y.dtb");
        const string Bootargs = "console=ttyS0 root=/dev/vda";

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, "dtb", "-m", "1G", "-c", "4", "--disk", disk, "--disk", disk, "--rng", "--pci", "-p", Bootargs, "-o", output);

        Assert.True(code == ExitCodes.Success, stderr);
        var root = FdtReader.Read(await File.ReadAllBytesAsync(output)).Root;
        Assert.Equal(3, root.Children.Count(n => n.Name.StartsWith("virtio@", StringComparison.Ordinal)));
        Assert.Single(root.Children, n => n.Name == $"pci@{Arm64MemoryMap.PciConfigBase:x}");
        Assert.Equal(4, root.Find("/cpus")!.Children.Count);
        Assert.Equal(Bootargs, root.Find("/chosen")!.String("bootargs"));
    }

    public static TheoryData<string[], string> BadArguments => new()
    {
        { ["dtb", "--arch", "x86_64", "-o", "out.dtb"], "unknown --arch 'x86_64'" },
        { ["dtb", "--arch", "arm64"], "dtb needs -o/--output FILE" },
        { ["dtb", "--disk", "/no/such/disk.img", "-o", "out.dtb"], "disk image '/no/such/disk.img' does not exist" },
        { ["dtb", "-c", "0", "-o", "out.dtb"], "invalid --cpus: 0" },
        { ["dtb", "-m", "12Q", "-o", "out.dtb"], "invalid --mem: '12Q' has an unknown size unit 'Q'" },
        { ["dtb", "-m", "1T", "-o", "out.dtb"], "invalid --mem: 1T is more than the 1022G of RAM the arm64 memory map holds" },
        { ["dtb", "-m", "1001K", "-o", "out.dtb"], "invalid --mem: 1001K is not a whole number of 4 KiB pages" },
        { ["dtb", "-o", "/no/such/dir/out.dtb"], "-o/--output '/no/such/dir/out.dtb': directory '/no/such/dir' does not exist" },
        { ["dtb", "-o", "/proc/self/status"], "-o/--output '/proc/self/status'" },
        { ["dtb", "--bogus", "-o", "out.dtb"], "Unrecognized command or argument '--bogus'" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task Bad_arguments_print_one_line_exit_2_and_write_nothing(string[] args, string message)
    {
        var (code, stdout, stderr) = await ActorVmmProcess.RunAsync(_dir, [.. args.Select(a => a == "out.dtb" ? PathOf(a) : a)]);

        Assert.Equal(ExitCodes.Usage, code);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("actorvmm: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
        Assert.False(File.Exists(PathOf("out.dtb")));
    }

    [Fact]
    public async Task More_virtio_devices_than_the_platform_has_lines_for_is_bad_input()
    {
        string disk = PathOf("disk.img");
        await File.WriteAllBytesAsync(disk, []);
        var args = new List<string> { "dtb", "-o", PathOf("out.dtb"), "--rng" };
        for (int i = 0; i < Arm64Platform.VirtioMmioIrqCount; i++)
        {
            args.AddRange(["--disk", disk]);
        }

        var (code, _, stderr) = await ActorVmmProcess.RunAsync(_dir, [.. args]);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("too many virtio devices", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("out.dtb")));
    }
}
