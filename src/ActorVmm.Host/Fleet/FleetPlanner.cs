using System.Globalization;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;

namespace ActorVmm.Host.Fleet;

/// <summary>A validated fleet run.</summary>
/// <param name="Count">Number of VMs.</param>
/// <param name="Image">The image every VM runs.</param>
/// <param name="BuiltInGuest">True when <paramref name="Image"/> is the built-in fleet guest.</param>
/// <param name="MemorySize">Guest RAM per VM.</param>
/// <param name="Backend">Requested backend.</param>
/// <param name="Hold">Density mode: hold VMs until all started.</param>
/// <param name="ConsoleDirectory">Per-VM console logs go here.</param>
/// <param name="Logging">Log settings.</param>
public sealed record FleetPlan(int Count, byte[] Image, bool BuiltInGuest, ulong MemorySize, BackendKind Backend, bool Hold, string ConsoleDirectory, LogSettings Logging)
{
    /// <summary>How long the halted fleet stays alive after the memory sample (hold mode), its idle CPU measured; zero: not at all.</summary>
    public TimeSpan HoldFor { get; init; }

    /// <summary>The --config file's HOCON (checked), layered over config/akka.hocon; null without --config.</summary>
    public string? ConfigHocon { get; init; }

    /// <summary>VM names start with this; the rest is the VM's index in four or more digits.</summary>
    public string NamePrefix { get; init; } = FleetPlanner.DefaultNamePrefix;

    /// <summary>The name of VM <paramref name="index"/>.</summary>
    public string VmName(int index) => $"{NamePrefix}{index:D4}";

    /// <summary>Every VM's name, in launch order.</summary>
    public IEnumerable<string> VmNames => Enumerable.Range(0, Count).Select(VmName);
}

/// <summary>Validates <c>actorvmm fleet</c>'s options: bad input is a <see cref="UsageException"/>.</summary>
public static class FleetPlanner
{
    /// <summary>Default guest RAM per VM.</summary>
    public const string DefaultMemory = "1M";

    /// <summary>Default port exits of the built-in guest.</summary>
    public const int DefaultExits = 1000;

    /// <summary>Default VM name prefix: vm0000, vm0001, ...</summary>
    public const string DefaultNamePrefix = "vm";

    /// <summary>Longest --hold-for, in seconds.</summary>
    public const int MaxHoldSeconds = 3600;

    /// <summary>Most VMs one fleet command starts (each has a vCPU thread).</summary>
    public const int MaxCount = 10_000;

    /// <summary>Validates and builds the plan.</summary>
    public static FleetPlan Plan(FleetArguments args, int processId)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count is < 1 or > MaxCount)
        {
            throw new UsageException($"invalid --count: {args.Count}; a fleet has between 1 and {MaxCount} VMs");
        }

        if (args.Exits is < 0 or > ushort.MaxValue)
        {
            throw new UsageException($"invalid --exits: {args.Exits}; between 0 and {ushort.MaxValue}");
        }

        if (args.HoldSeconds is < 0 or > MaxHoldSeconds)
        {
            throw new UsageException($"invalid --hold-for: {args.HoldSeconds}; between 0 and {MaxHoldSeconds} seconds");
        }

        bool hold = args.Hold || args.HoldSeconds > 0;
        var backend = RunPlanner.ParseBackend(args.Backend);
        ulong memory = RunPlanner.ParseMemory(args.Memory);
        RunPlanner.CheckHostCanMap(args.Memory, memory);
        var logging = new LogSettings(RunPlanner.ParseLogLevel(args.LogLevel), args.LogFile);
        string prefix = args.NamePrefix ?? DefaultNamePrefix;
        if (prefix.Length == 0 || !RunPlanner.IsValidName(prefix + (args.Count - 1).ToString("D4", CultureInfo.InvariantCulture)))
        {
            throw new UsageException($"invalid --name-prefix '{prefix}': use letters, digits, '-', '_' or '.' (not first), short enough for {RunPlanner.MaxNameLength}-character names");
        }

        byte[] image = args.Image is null ? FleetGuest.Build((ushort)args.Exits, hold) : RunPlanner.ReadImage(args.Image, memory);
        RunPlanner.CheckFits(image, args.Image ?? "built-in fleet guest", memory);
        string? configHocon = args.Config is null ? null : RunPlanner.ReadConfig(args.Config);

        // Output paths last: the checks create them.
        string directory = args.ConsoleDirectory ?? Path.Combine(Path.GetTempPath(), $"actorvmm-fleet-{processId}");
        OutputPaths.CheckFile("--log-file", args.LogFile);
        OutputPaths.CheckDirectory("--console-dir", directory);
        return new FleetPlan(args.Count, image, args.Image is null, memory, backend, hold, directory, logging)
        {
            NamePrefix = prefix,
            HoldFor = TimeSpan.FromSeconds(args.HoldSeconds),
            ConfigHocon = configHocon,
        };
    }
}
