using ActorVmm.Devices.Pci;
using ActorVmm.Devices.Platforms;
using ActorVmm.Devices.Virtio;
using ActorVmm.Devices.Virtio.Block;
using ActorVmm.Devices.Virtio.Net;
using ActorVmm.Devices.Framebuffer;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Demo;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Layout;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Passthrough;
using ActorVmm.Machine.Vcpu;
using Serilog.Events;

namespace ActorVmm.Host.Cli;

/// <summary>
/// Validates <c>actorvmm run</c>'s options and reads the image, so that every bad input is
/// reported as one <see cref="UsageException"/> before anything starts.
/// </summary>
public static class RunPlanner
{
    /// <summary>Default guest RAM (kvmtool's default for small guests is 64 MiB too).</summary>
    public const string DefaultMemory = "64M";

    /// <summary>Guest-physical address flat binaries are loaded at.</summary>
    public const ulong LoadAddress = FlatBinaryLoader.LoadAddress;

    /// <summary>The guest page size; RAM is a whole number of pages.</summary>
    public const ulong PageSize = 4096;

    private const string EmulatorCannotBootLinux = "the emulator backend boots Linux only experimentally so far (docs/emulator.md): --kernel needs the kvm backend (--backend kvm), or --experimental-emulator-linux to run it on the emulator anyway";

    /// <summary>Most guest RAM a VM can have: what the x86 memory map places.</summary>
    public const ulong MaxMemory = X86MemoryMap.MaxRam;

    /// <summary>The virtio transport when --virtio-transport is not given: PCI functions on bus 0, as kvmtool's default.</summary>
    public const string DefaultVirtioTransport = "pci";

    /// <summary>The framebuffer mode of a bare --vesa (kvmtool's 640×480).</summary>
    public const string DefaultVesa = "640x480";

    /// <summary>Largest --config file read (the shipped config/akka.hocon is about 2 KiB).</summary>
    public const ulong MaxConfigBytes = 1024 * 1024;

    /// <summary>Builds a plan; <paramref name="processId"/> names unnamed guests like lkvm ("guest-PID").</summary>
    /// <exception cref="UsageException">Any bad input, with the one line to print.</exception>
    public static RunPlan Plan(RunArguments args, int processId)
    {
        ArgumentNullException.ThrowIfNull(args);
        var backend = ParseBackend(args.Backend);
        var console = ParseConsole(args.Console);
        ulong memory = ParseMemory(args.Memory);
        CheckHostCanMap(args.Memory, memory);
        int cpus = ParseCpus(args.Cpus);
        var logging = new LogSettings(ParseLogLevel(args.LogLevel), args.LogFile);
        string name = ParseName(args.Name ?? $"guest-{processId}");
        var transport = ParseVirtioTransport(args.VirtioTransport);
        var disks = args.Disks.Select(ParseDisk).ToArray();
        var networks = ParseNetworks(args.Networks);
        int virtioCount = disks.Length + (args.Rng ? 1 : 0) + networks.Count + (args.VirtioConsoleLog is null ? 0 : 1) + (console == ConsoleMode.Virtio ? 1 : 0);
        CheckVirtioCount(virtioCount, transport);

        // virtio-mmio transports are invisible to a PC kernel unless the command line names them; PCI ones it enumerates.
        string[] deviceEntries = transport == VirtioTransportKind.Mmio && virtioCount > 0 ? [X86Platform.VirtioMmioKernelParameters(virtioCount)] : [];
        var (boot, description) = PlanBoot(args, backend, memory, deviceEntries);
        string? configHocon = args.Config is null ? null : ReadConfig(args.Config);

        var framebuffer = args.Vesa is null ? null : ParseVesa(args.Vesa);
        if (args.ScreenshotOnExit is not null && framebuffer is null)
        {
            throw new UsageException("--screenshot-on-exit needs a framebuffer: add --vesa (640x480 by default)");
        }

        if (framebuffer is not null && boot is LinuxBoot linux)
        {
            // The kernel finds the frame where power-on puts its BAR (vesafb/simplefb from screen_info).
            boot = linux with { Framebuffer = framebuffer.BootInfo(X86MemoryMap.FramebufferBase) };
        }

        var vfioPci = ParseVfioPci(args.VfioPci);

        // Output files last: the checks open them, and nothing else may be refused after that.
        OutputPaths.CheckFile("--console-log", args.ConsoleLog);
        OutputPaths.CheckFile("--virtio-console-log", args.VirtioConsoleLog);
        OutputPaths.CheckFile("--log-file", args.LogFile);
        OutputPaths.CheckFile("--screenshot-on-exit", args.ScreenshotOnExit);
        return new RunPlan(name, boot, description, memory, cpus, backend, console, logging)
        {
            Reboot = args.Reboot,
            Disks = disks,
            Rng = args.Rng,
            Networks = networks,
            VirtioConsoleLog = args.VirtioConsoleLog,
            VirtioTransport = transport,
            ConsoleLog = args.ConsoleLog,
            DebugIoport = args.DebugIoport,
            DebugMmio = args.DebugMmio,
            ConfigFile = args.Config,
            ConfigHocon = configHocon,
            Framebuffer = framebuffer,
            ScreenshotOnExit = args.ScreenshotOnExit is null ? null : Path.GetFullPath(args.ScreenshotOnExit),
            VfioPci = vfioPci,
            ExperimentalEmulatorLinux = args.ExperimentalEmulatorLinux,
        };
    }

    /// <summary>Parses --vesa WxH: a 32-bpp mode whose BAR fits the x86 map's framebuffer window.</summary>
    public static FramebufferMode ParseVesa(string text)
    {
        try
        {
            return FramebufferMode.Parse(text, X86MemoryMap.FramebufferSize);
        }
        catch (FormatException ex)
        {
            throw new UsageException($"invalid --vesa: {ex.Message}", ex);
        }
    }

    /// <summary>Parses each --vfio-pci address; the same device twice is refused.</summary>
    /// <exception cref="UsageException">An address is malformed or repeated.</exception>
    public static IReadOnlyList<VfioPciAddress> ParseVfioPci(IReadOnlyList<string> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var parsed = new List<VfioPciAddress>();
        foreach (string text in addresses)
        {
            if (!VfioPciAddress.TryParse(text, out var address, out string error))
            {
                throw new UsageException($"invalid --vfio-pci: {error}");
            }

            if (parsed.Contains(address))
            {
                throw new UsageException($"invalid --vfio-pci: {address} is given twice");
            }

            parsed.Add(address);
        }

        return parsed;
    }

    /// <summary>Refuses what the chosen backend cannot do: passthrough needs KVM (the host IOMMU maps guest RAM for DMA, irqfds carry the device's interrupts).</summary>
    /// <exception cref="UsageException">--vfio-pci on the emulator.</exception>
    public static void CheckBackendSupports(RunPlan plan, BackendKind backend, string reason)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.VfioPci.Count > 0 && backend == BackendKind.Emulator)
        {
            throw new UsageException($"--vfio-pci needs the KVM backend (the device's DMA goes through the host IOMMU and its interrupts through KVM irqfds), and this run uses the emulator ({reason}); use --backend kvm on a host with /dev/kvm");
        }
    }

    /// <summary>Parses -m/--mem: a size with units, a whole number of 4 KiB pages.</summary>
    public static ulong ParseMemory(string text)
    {
        if (!SizeParser.TryParse(text, out ulong bytes, out string? error))
        {
            throw new UsageException($"invalid --mem: {error}");
        }

        if (bytes % PageSize != 0)
        {
            throw new UsageException($"invalid --mem: {text} is not a whole number of 4 KiB pages");
        }

        if (bytes > MaxMemory)
        {
            throw new UsageException($"invalid --mem: {text} is more than the {SizeParser.Format(MaxMemory)} of RAM the x86 memory map holds");
        }

        return bytes;
    }

    /// <summary>
    /// Maps and unmaps guest RAM of <paramref name="memory"/> bytes the way the backends do, so a size
    /// this host cannot map (address-space limit, overcommit policy) is refused before any VM exists.
    /// </summary>
    public static void CheckHostCanMap(string text, ulong memory)
    {
        try
        {
            using var probe = GuestMemory.Create(memory);
        }
        catch (OutOfMemoryException ex)
        {
            throw new UsageException($"invalid --mem: this host cannot map {text} of guest RAM ({ex.Message})", ex);
        }
    }

    /// <summary>Checks -c/--cpus against what a VM supports.</summary>
    public static int ParseCpus(int cpus) =>
        cpus is >= 1 and <= VmSpec.MaxVcpus
            ? cpus
            : throw new UsageException($"invalid --cpus: {cpus}; a VM has between 1 and {VmSpec.MaxVcpus} vCPUs");

    /// <summary>Parses --backend.</summary>
    public static BackendKind ParseBackend(string text) =>
        BackendKinds.TryParse(text, out var kind)
            ? kind
            : throw new UsageException($"unknown backend '{text}': expected {string.Join(", ", BackendKinds.Names)}");

    /// <summary>Parses --console.</summary>
    public static ConsoleMode ParseConsole(string text) => text.Trim().ToLowerInvariant() switch
    {
        "serial" => ConsoleMode.Serial,
        "none" => ConsoleMode.None,
        "virtio" => ConsoleMode.Virtio,
        _ => throw new UsageException($"unknown console '{text}': expected serial, virtio or none"),
    };

    /// <summary>Parses --virtio-transport: pci (functions on PCI bus 0) or mmio (virtio-mmio windows).</summary>
    public static VirtioTransportKind ParseVirtioTransport(string text) => text.Trim().ToLowerInvariant() switch
    {
        "mmio" => VirtioTransportKind.Mmio,
        "pci" => VirtioTransportKind.Pci,
        _ => throw new UsageException($"unknown virtio transport '{text}': expected mmio or pci"),
    };

    /// <summary>
    /// Parses one --disk PATH[,ro] (kvmtool's syntax) and checks that PATH is an existing regular file of whole 512-byte
    /// sectors. The image is opened and locked when the VM starts (<see cref="DiskImages"/>).
    /// </summary>
    public static DiskSpec ParseDisk(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string path = text;
        bool readOnly = false;
        int comma = text.LastIndexOf(',');
        if (comma >= 0)
        {
            string flag = text[(comma + 1)..];
            if (flag != "ro")
            {
                throw new UsageException($"invalid --disk '{text}': expected PATH or PATH,ro");
            }

            path = text[..comma];
            readOnly = true;
        }

        ulong size = InputFiles.CheckRegularFile("disk image", path);
        if (size % VirtioBlockProtocol.SectorSize != 0)
        {
            throw new UsageException($"disk image '{path}' is {size} bytes, not a whole number of {VirtioBlockProtocol.SectorSize}-byte sectors");
        }

        return new DiskSpec(path, readOnly);
    }

    /// <summary>
    /// Parses every -n/--network (kvmtool's syntax, <c>mode=tap,tapif=NAME[,guest_mac=XX:XX:XX:XX:XX:XX]</c>): mode may be
    /// left out (tap is the only mode); card n without guest_mac gets kvmtool's 02:15:15:15:15:15 with n added to the last
    /// byte. The same tap or MAC twice is refused. The taps are attached when the VM starts (<see cref="NetworkTaps"/>).
    /// </summary>
    /// <exception cref="UsageException">A value is malformed, names an unknown key or mode, lacks tapif, or repeats a tap or MAC.</exception>
    public static IReadOnlyList<NetworkSpec> ParseNetworks(IReadOnlyList<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var networks = new List<NetworkSpec>();
        foreach (string text in values)
        {
            var network = ParseNetwork(text, networks.Count);
            if (networks.Any(n => n.TapName == network.TapName))
            {
                throw new UsageException($"invalid --network '{text}': tap '{network.TapName}' is given twice");
            }

            if (networks.Any(n => n.GuestMac == network.GuestMac))
            {
                throw new UsageException($"invalid --network '{text}': guest_mac {network.GuestMac} is already another card's");
            }

            networks.Add(network);
        }

        return networks;
    }

    /// <summary>Parses one -n/--network value for card <paramref name="index"/> (see <see cref="ParseNetworks"/>).</summary>
    public static NetworkSpec ParseNetwork(string text, int index)
    {
        ArgumentNullException.ThrowIfNull(text);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in text.Split(','))
        {
            int equals = part.IndexOf('=', StringComparison.Ordinal);
            string key = equals < 0 ? part : part[..equals];
            if (equals < 0 || key.Length == 0)
            {
                throw new UsageException($"invalid --network '{text}': expected mode=tap,tapif=NAME[,guest_mac=XX:XX:XX:XX:XX:XX]");
            }

            if (key is not ("mode" or "tapif" or "guest_mac"))
            {
                throw new UsageException($"invalid --network '{text}': unknown key '{key}' (expected mode, tapif or guest_mac)");
            }

            if (!fields.TryAdd(key, part[(equals + 1)..]))
            {
                throw new UsageException($"invalid --network '{text}': '{key}' is given twice");
            }
        }

        if (fields.TryGetValue("mode", out string? mode) && mode != "tap")
        {
            throw new UsageException($"invalid --network '{text}': mode '{mode}' is not supported (only mode=tap)");
        }

        if (!fields.TryGetValue("tapif", out string? tap))
        {
            throw new UsageException($"invalid --network '{text}': tapif=NAME is missing (the host tap interface)");
        }

        if (!IsValidInterfaceName(tap))
        {
            throw new UsageException($"invalid --network '{text}': tapif '{tap}' is not an interface name (1 to 15 characters, no '/', ':' or blanks)");
        }

        var mac = MacAddress.DefaultGuest.WithLastByteOffset(index);
        if (fields.TryGetValue("guest_mac", out string? macText))
        {
            if (!MacAddress.TryParse(macText, out var parsed))
            {
                throw new UsageException($"invalid --network '{text}': guest_mac '{macText}' is not a MAC address (XX:XX:XX:XX:XX:XX)");
            }

            if (parsed.Value.IsMulticast)
            {
                throw new UsageException($"invalid --network '{text}': guest_mac {parsed} is a multicast address");
            }

            mac = parsed.Value;
        }

        return new NetworkSpec(tap, mac);
    }

    /// <summary>True for a name Linux takes for a network interface (dev_valid_name): 1 to 15 characters, not . or .., no '/', ':' or whitespace.</summary>
    public static bool IsValidInterfaceName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Length is > 0 and < 16 && name is not ("." or "..") && !name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || c > '~' || c < ' ');
    }

    /// <summary>Checks that the virtio devices asked for fit the x86 platform's slots for <paramref name="transport"/>.</summary>
    public static void CheckVirtioCount(int count, VirtioTransportKind transport)
    {
        // PCI: every device number of bus 0 but the host bridge's (passthrough devices, checked when placed, share them).
        (int slots, string what) = transport == VirtioTransportKind.Mmio
            ? (X86Platform.VirtioMmioIrqs.Count, "virtio-mmio slots")
            : (PciAddress.DevicesPerBus - 1, "free PCI slots on bus 0");
        if (count > slots)
        {
            throw new UsageException($"too many virtio devices: {count} asked for (disks, --rng, --network, virtio consoles), the x86 platform has {slots} {what}");
        }
    }

    /// <summary>Parses --log-level (Serilog's level names, plus trace, info and warn).</summary>
    public static LogEventLevel ParseLogLevel(string text) => text.Trim().ToLowerInvariant() switch
    {
        "verbose" or "trace" => LogEventLevel.Verbose,
        "debug" => LogEventLevel.Debug,
        "information" or "info" => LogEventLevel.Information,
        "warning" or "warn" => LogEventLevel.Warning,
        "error" => LogEventLevel.Error,
        "fatal" => LogEventLevel.Fatal,
        _ => throw new UsageException($"unknown log level '{text}': expected verbose, debug, information, warning, error or fatal"),
    };

    /// <summary>Longest VM name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Checks a VM name: it names sockets, threads and log files, so it is kept to a safe alphabet.</summary>
    public static string ParseName(string name) =>
        IsValidName(name) ? name : throw new UsageException($"invalid --name '{name}': use 1 to {MaxNameLength} letters, digits, '-', '_' or '.'");

    /// <summary>True for 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'.</summary>
    public static bool IsValidName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Length is > 0 and <= MaxNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && name[0] != '.';
    }

    /// <summary>Reads an image file that must fit in <paramref name="memory"/> above the load address, refusing anything else before reading it.</summary>
    public static byte[] ReadImage(string path, ulong memory) =>
        InputFiles.ReadRegularFile("image", path, memory > LoadAddress ? memory - LoadAddress : 0, size => TooLarge(path, size, memory));

    /// <summary>Reads a --config file and checks that the configuration it makes can be used (one line per problem).</summary>
    public static string ReadConfig(string path)
    {
        byte[] bytes = InputFiles.ReadRegularFile("config file", path, MaxConfigBytes, size => $"config file '{path}' is {size} bytes; at most {MaxConfigBytes} are read");
        string hocon = System.Text.Encoding.UTF8.GetString(bytes);
        return Hosting.VmmHost.ValidateConfig(hocon, path) is { } error ? throw new UsageException(error) : hocon;
    }

    /// <summary>Checks that the image fits in guest RAM above the load address.</summary>
    public static void CheckFits(byte[] image, string description, ulong memory)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (memory <= LoadAddress || (ulong)image.Length > memory - LoadAddress)
        {
            throw new UsageException(TooLarge(description, (ulong)image.Length, memory));
        }
    }

    private static string TooLarge(string description, ulong size, ulong memory) =>
        $"image '{description}' ({size} bytes) is larger than guest memory allows: {SizeParser.Format(memory)} leaves {(memory > LoadAddress ? memory - LoadAddress : 0)} bytes above the load address 0x{LoadAddress:X}";

    /// <summary>Turns a Linux boot on an emulator backend (asked for, or what auto resolved to) into bad input.</summary>
    public static void CheckBackendBoots(RunPlan plan, BackendKind backend)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Boot is LinuxBoot && backend == BackendKind.Emulator && !plan.ExperimentalEmulatorLinux)
        {
            throw new UsageException(EmulatorCannotBootLinux);
        }
    }

    /// <summary>Reads a kernel or initrd: a non-empty regular file no larger than guest RAM.</summary>
    public static byte[] ReadBootFile(string what, string path, ulong memory) =>
        InputFiles.ReadRegularFile(what, path, Math.Min(memory, (ulong)Array.MaxLength),
            size => $"{what} '{path}' ({size} bytes) is larger than guest memory ({SizeParser.Format(memory)}); give the guest more with -m");

    private static (BootSource Boot, string Description) PlanBoot(RunArguments args, BackendKind backend, ulong memory, IReadOnlyList<string> deviceEntries)
    {
        if (args.Kernel is null)
        {
            foreach (var (option, value) in new[] { ("--initrd", args.Initrd), ("--params", args.Params) })
            {
                if (value is not null)
                {
                    throw new UsageException($"{option} needs --kernel");
                }
            }

            var (image, description) = args.Image is null ? (DemoGuest.Build(), "built-in demo guest") : (ReadImage(args.Image, memory), args.Image);
            CheckFits(image, description, memory);
            return (new FlatBinaryBoot(image), description);
        }

        if (args.Image is not null)
        {
            throw new UsageException("--image and --kernel cannot be used together: a VM boots a flat binary or a Linux kernel");
        }

        if (backend == BackendKind.Emulator && !args.ExperimentalEmulatorLinux)
        {
            throw new UsageException(EmulatorCannotBootLinux);
        }

        byte[] kernel = ReadBootFile("kernel", args.Kernel, memory);
        byte[]? initrd = args.Initrd is null ? null : ReadBootFile("initrd", args.Initrd, memory);
        string commandLine = LinuxCommandLine.Compose(args.Params, deviceEntries);
        try
        {
            var bzImage = BzImage.Parse(kernel, $"kernel '{args.Kernel}'");
            LinuxLoader.Plan(bzImage, (ulong)(initrd?.LongLength ?? 0), commandLine, MemoryMap.X86.Layout(memory));
        }
        catch (LinuxBootException ex)
        {
            throw new UsageException(ex.Message, ex);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new UsageException($"invalid --mem: {ex.Message}", ex);
        }

        return (new LinuxBoot(kernel, initrd, commandLine), args.Kernel);
    }
}
