using ActorVmm.Host.Backends;
using ActorVmm.Host.Demo;
using ActorVmm.Machine.Boot;
using ActorVmm.Machine.Boot.Linux;
using ActorVmm.Machine.Layout;
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

    private const string EmulatorCannotBootLinux = "the emulator backend cannot boot Linux yet; --kernel needs the kvm backend (--backend kvm)";

    /// <summary>Builds a plan; <paramref name="processId"/> names unnamed guests like lkvm ("guest-PID").</summary>
    /// <exception cref="UsageException">Any bad input, with the one line to print.</exception>
    public static RunPlan Plan(RunArguments args, int processId)
    {
        ArgumentNullException.ThrowIfNull(args);
        var backend = ParseBackend(args.Backend);
        var console = ParseConsole(args.Console);
        ulong memory = ParseMemory(args.Memory);
        int cpus = ParseCpus(args.Cpus);
        var logging = new LogSettings(ParseLogLevel(args.LogLevel), args.LogFile);
        string name = ParseName(args.Name ?? $"guest-{processId}");
        if (args.Config is not null && !File.Exists(args.Config))
        {
            throw new UsageException($"config file '{args.Config}' does not exist");
        }

        if (args.Config is not null && Hosting.VmmHost.ValidateConfig(args.Config) is { } configError)
        {
            throw new UsageException(configError);
        }

        CheckWritable("--console-log", args.ConsoleLog);
        CheckWritable("--log-file", args.LogFile);
        var (boot, description) = PlanBoot(args, backend, memory);
        return new RunPlan(name, boot, description, memory, cpus, backend, console, logging)
        {
            Reboot = args.Reboot,
            ConsoleLog = args.ConsoleLog,
            DebugIoport = args.DebugIoport,
            DebugMmio = args.DebugMmio,
            ConfigFile = args.Config,
        };
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

        return bytes;
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
        _ => throw new UsageException($"unknown console '{text}': expected serial or none"),
    };

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

    /// <summary>Checks a VM name: it names sockets, threads and log files, so it is kept to a safe alphabet.</summary>
    public static string ParseName(string name)
    {
        bool valid = name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && name[0] != '.';
        return valid ? name : throw new UsageException($"invalid --name '{name}': use 1 to 64 letters, digits, '-', '_' or '.'");
    }

    /// <summary>Reads an image file with a clear error when it is missing, unreadable or empty.</summary>
    public static byte[] ReadImage(string path)
    {
        if (Directory.Exists(path))
        {
            throw new UsageException($"image '{path}' is a directory, not a file");
        }

        if (!File.Exists(path))
        {
            throw new UsageException($"image '{path}' does not exist");
        }

        byte[] image;
        try
        {
            image = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"image '{path}' cannot be read: {ex.Message}", ex);
        }

        return image.Length > 0 ? image : throw new UsageException($"image '{path}' is empty");
    }

    /// <summary>Checks that the image fits in guest RAM above the load address.</summary>
    public static void CheckFits(byte[] image, string description, ulong memory)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (memory <= LoadAddress || (ulong)image.Length > memory - LoadAddress)
        {
            throw new UsageException(
                $"image '{description}' ({image.Length} bytes) is larger than guest memory allows: {SizeParser.Format(memory)} leaves {(memory > LoadAddress ? memory - LoadAddress : 0)} bytes above the load address 0x{LoadAddress:X}");
        }
    }

    /// <summary>Checks that an output file can be created: its directory exists and it is not a directory.</summary>
    public static void CheckWritable(string option, string? path)
    {
        if (path is null)
        {
            return;
        }

        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new UsageException($"{option} '{path}' is a directory, not a file");
        }

        if (Path.GetDirectoryName(full) is { } dir && !Directory.Exists(dir))
        {
            throw new UsageException($"{option} '{path}': directory '{dir}' does not exist");
        }
    }

    /// <summary>Turns a Linux boot on an emulator backend (asked for, or what auto resolved to) into bad input.</summary>
    public static void CheckBackendBoots(RunPlan plan, BackendKind backend)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Boot is LinuxBoot && backend == BackendKind.Emulator)
        {
            throw new UsageException(EmulatorCannotBootLinux);
        }
    }

    /// <summary>Reads a kernel or initrd after checking it is a non-empty regular file no larger than guest RAM.</summary>
    public static byte[] ReadBootFile(string what, string path, ulong memory)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            throw new UsageException($"{what} '{path}' is a directory, not a file");
        }

        if (!File.Exists(path))
        {
            throw new UsageException($"{what} '{path}' does not exist");
        }

        // Sized before it is opened: devices and FIFOs report no size, so they end here without blocking a read.
        long size = new FileInfo(path).Length;
        if (size == 0)
        {
            throw new UsageException($"{what} '{path}' is empty or not a regular file");
        }

        if ((ulong)size > memory || size > Array.MaxLength)
        {
            throw new UsageException($"{what} '{path}' ({size} bytes) is larger than guest memory ({SizeParser.Format(memory)}); give the guest more with -m");
        }

        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{what} '{path}' cannot be read: {ex.Message}", ex);
        }
    }

    private static (BootSource Boot, string Description) PlanBoot(RunArguments args, BackendKind backend, ulong memory)
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

            var (image, description) = args.Image is null ? (DemoGuest.Build(), "built-in demo guest") : (ReadImage(args.Image), args.Image);
            CheckFits(image, description, memory);
            return (new FlatBinaryBoot(image), description);
        }

        if (args.Image is not null)
        {
            throw new UsageException("--image and --kernel cannot be used together: a VM boots a flat binary or a Linux kernel");
        }

        if (backend == BackendKind.Emulator)
        {
            throw new UsageException(EmulatorCannotBootLinux);
        }

        byte[] kernel = ReadBootFile("kernel", args.Kernel, memory);
        byte[]? initrd = args.Initrd is null ? null : ReadBootFile("initrd", args.Initrd, memory);
        string commandLine = LinuxCommandLine.Compose(args.Params);
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
