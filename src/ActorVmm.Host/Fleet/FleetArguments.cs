namespace ActorVmm.Host.Fleet;

/// <summary>The raw values of <c>actorvmm fleet</c>'s options.</summary>
public sealed record FleetArguments
{
    /// <summary>--count: number of VMs.</summary>
    public int Count { get; init; }

    /// <summary>--image: flat binary every VM runs (null: the built-in fleet guest).</summary>
    public string? Image { get; init; }

    /// <summary>--mem: guest RAM per VM.</summary>
    public string Memory { get; init; } = FleetPlanner.DefaultMemory;

    /// <summary>--backend.</summary>
    public string Backend { get; init; } = "auto";

    /// <summary>--hold: keep VMs halted until all started, measure, then stop them.</summary>
    public bool Hold { get; init; }

    /// <summary>--hold-for: seconds the halted fleet stays alive after the memory sample, its idle CPU measured (implies --hold).</summary>
    public int HoldSeconds { get; init; }

    /// <summary>--exits: port exits the built-in guest makes.</summary>
    public int Exits { get; init; } = FleetPlanner.DefaultExits;

    /// <summary>--name-prefix: VMs are named PREFIX0000, PREFIX0001, ...</summary>
    public string NamePrefix { get; init; } = FleetPlanner.DefaultNamePrefix;

    /// <summary>--console-dir: where per-VM console logs go.</summary>
    public string? ConsoleDirectory { get; init; }


    /// <summary>--config: extra HOCON layered over config/akka.hocon.</summary>
    public string? Config { get; init; }

    /// <summary>--log-level.</summary>
    public string LogLevel { get; init; } = "warning";

    /// <summary>--log-file.</summary>
    public string? LogFile { get; init; }
}
