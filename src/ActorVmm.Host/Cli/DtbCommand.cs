using System.CommandLine;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Virtio.Mmio;
using ActorVmm.Machine.Layout;

namespace ActorVmm.Host.Cli;

/// <summary>
/// <c>actorvmm dtb</c>: writes the flattened device tree a VM with these options would get, without running anything
/// (kvmtool's <c>--dump-dtb</c>); <c>dtc -I dtb -O dts FILE</c> shows it as source.
/// </summary>
public static class DtbCommand
{
    /// <summary>The only architecture with a device tree here.</summary>
    public const string DefaultArch = "arm64";

    /// <summary>The <c>dtb</c> command.</summary>
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "Machine: arm64 (x86 guests boot without a device tree)", DefaultValueFactory = _ => DefaultArch };
        var memory = new Option<string>("--mem", "-m") { Description = "Guest RAM with a unit: 256M, 1G (a plain number is MiB)", DefaultValueFactory = _ => RunPlanner.DefaultMemory };
        var cpus = new Option<int>("--cpus", "-c") { Description = "Number of vCPUs", DefaultValueFactory = _ => 1 };
        var disks = new Option<string[]>("--disk", "-d") { Description = "Disk image: one virtio-mmio transport each (repeatable)", AllowMultipleArgumentsPerToken = false };
        var rng = new Option<bool>("--rng") { Description = "Add a virtio-rng transport" };
        var pci = new Option<bool>("--pci") { Description = "Add the PCI host bridge (ECAM)" };
        var parameters = new Option<string>("--params", "-p") { Description = "Kernel command line (/chosen/bootargs)" };
        var output = new Option<string>("--output", "-o") { Description = "The DTB file to write" };
        var command = new Command("dtb", "Write the device tree (DTB) of a VM with these options, without running it")
        {
            arch, memory, cpus, disks, rng, pci, parameters, output,
        };
        command.SetAction((parse, _) => RunAsync(
            new DtbArguments
            {
                Arch = parse.GetValue(arch)!,
                Memory = parse.GetValue(memory)!,
                Cpus = parse.GetValue(cpus),
                Disks = parse.GetValue(disks) ?? [],
                Rng = parse.GetValue(rng),
                Pci = parse.GetValue(pci),
                Params = parse.GetValue(parameters),
                Output = parse.GetValue(output),
            },
            Console.Error));
        return command;
    }

    /// <summary>Validates, writes the DTB and returns the exit code; bad input is one line on <paramref name="error"/> and exit 2.</summary>
    public static async Task<int> RunAsync(DtbArguments args, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            var (options, path) = Plan(args);
            byte[] blob = Arm64DeviceTree.Build(options);
            await WriteAsync(path, blob);
            return ExitCodes.Success;
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"actorvmm: {ex.Message}");
            return ExitCodes.Usage;
        }
    }

    /// <summary>The device-tree options and output path for <paramref name="args"/>.</summary>
    /// <exception cref="UsageException">Any bad input, with the one line to print.</exception>
    public static (Arm64DeviceTreeOptions Options, string Output) Plan(DtbArguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!string.Equals(args.Arch.Trim(), DefaultArch, StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException($"unknown --arch '{args.Arch}': only {DefaultArch} has a device tree");
        }

        if (string.IsNullOrWhiteSpace(args.Output))
        {
            throw new UsageException("dtb needs -o/--output FILE");
        }

        var layout = ParseMemory(args.Memory);
        int cpus = RunPlanner.ParseCpus(args.Cpus);
        foreach (string disk in args.Disks)
        {
            if (!File.Exists(disk))
            {
                throw new UsageException($"disk image '{disk}' does not exist");
            }
        }

        if (args.Params is { } bootargs && (bootargs.Contains('\0', StringComparison.Ordinal) || !System.Text.Ascii.IsValid(bootargs)))
        {
            throw new UsageException("invalid --params: the kernel command line must be ASCII without NUL");
        }

        // One transport per device, disks first and then the RNG, each at the next place of the virtio-mmio window.
        int transports = args.Disks.Count + (args.Rng ? 1 : 0);
        IReadOnlyList<VirtioMmioDeviceTreeNode> virtio;
        try
        {
            virtio = VirtioMmioDeviceTreeNode.Place(layout.Window(VirtioMmioWindowName), Arm64Platform.VirtioMmioIrqs, transports);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"too many virtio devices: {ex.Message}", ex);
        }

        // The output last, as run checks its files: an unwritable path, a directory, a FIFO or /proc is one line.
        OutputPaths.CheckFile("-o/--output", args.Output);
        var options = new Arm64DeviceTreeOptions(layout, cpus) { Bootargs = args.Params ?? string.Empty, Devices = virtio, Pci = args.Pci };
        return (options, args.Output);
    }

    private const string VirtioMmioWindowName = "virtio-mmio";

    /// <summary>-m/--mem against the arm64 map (<c>run</c>'s parser holds sizes to the x86 map's limit).</summary>
    private static MemoryLayout ParseMemory(string text)
    {
        if (!SizeParser.TryParse(text, out ulong bytes, out string? error))
        {
            throw new UsageException($"invalid --mem: {error}");
        }

        var map = MemoryMap.Arm64;
        if (bytes % MemoryMap.PageSize != 0)
        {
            throw new UsageException($"invalid --mem: {text} is not a whole number of 4 KiB pages");
        }

        if (bytes > map.MaxRamSize)
        {
            throw new UsageException($"invalid --mem: {text} is more than the {SizeParser.Format(map.MaxRamSize)} of RAM the arm64 memory map holds");
        }

        return map.Layout(bytes);
    }

    private static async Task WriteAsync(string path, byte[] blob)
    {
        try
        {
            await File.WriteAllBytesAsync(path, blob);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write '{path}': {ex.Message}", ex);
        }
    }
}
