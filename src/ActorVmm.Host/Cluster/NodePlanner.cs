using ActorVmm.Cluster.Node;
using ActorVmm.Cluster.Placement;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Hosting;

namespace ActorVmm.Host.Cluster;

/// <summary>A validated <c>actorvmm node</c>.</summary>
/// <param name="Options">The node's place in the cluster.</param>
/// <param name="Backend">Requested backend.</param>
/// <param name="ConfigHocon">Extra HOCON, or null.</param>
/// <param name="Logging">Log settings (with the node's address).</param>
/// <param name="Tls">True when --config turns TLS on for the transport.</param>
public sealed record NodePlan(ClusterNodeOptions Options, BackendKind Backend, string? ConfigHocon, LogSettings Logging, bool Tls)
{
    /// <summary>The node's Akka address.</summary>
    public string Address => Options.Self.AkkaAddress(Options.ClusterName, Tls);
}

/// <summary>Validates <c>actorvmm node</c>'s options: bad input is a <see cref="UsageException"/>.</summary>
public static class NodePlanner
{
    /// <summary>Longest cluster name.</summary>
    public const int MaxClusterNameLength = 64;

    /// <summary>Validates and builds the plan.</summary>
    public static NodePlan Plan(NodeArguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string clusterName = ParseClusterName(args.ClusterName);
        IReadOnlyList<ClusterEndpoint> seeds;
        ClusterEndpoint self;
        try
        {
            seeds = ClusterEndpoint.ParseList(args.Seeds);
        }
        catch (FormatException ex)
        {
            throw new UsageException($"invalid --seed: {ex.Message}", ex);
        }

        try
        {
            self = ClusterEndpoint.Parse($"{(args.Bind.Contains(':', StringComparison.Ordinal) ? $"[{args.Bind}]" : args.Bind)}:{args.Port}");
        }
        catch (FormatException ex)
        {
            throw new UsageException($"invalid --bind/--port: {ex.Message}", ex);
        }

        ulong memory = HostRam();
        if (args.CapacityMemory is { } text)
        {
            if (!SizeParser.TryParse(text, out memory, out string? error))
            {
                throw new UsageException($"invalid --capacity-mem: {error}");
            }
        }

        int vcpus = args.CapacityVcpus ?? Environment.ProcessorCount;
        if (vcpus < 1)
        {
            throw new UsageException($"invalid --capacity-vcpus: {vcpus}; at least 1");
        }

        var backend = RunPlanner.ParseBackend(args.Backend);
        string? hocon = args.Config is null ? null : RunPlanner.ReadConfig(args.Config);
        string state = args.StateDirectory ?? DefaultStateDirectory(clusterName, self);
        OutputPaths.CheckFile("--log-file", args.LogFile);
        OutputPaths.CheckDirectory("--state-dir", state);
        var options = new ClusterNodeOptions(clusterName, self, seeds, new VmResources(memory, vcpus), Path.GetFullPath(state));
        bool tls = ClusterNodeConfig.UsesTls(VmmHost.LoadConfig(hocon));
        var logging = new LogSettings(RunPlanner.ParseLogLevel(args.LogLevel), args.LogFile) { Node = self.AkkaAddress(clusterName, tls) };
        return new NodePlan(options, backend, hocon, logging, tls);
    }

    /// <summary>Checks --cluster-name: an actor system name (letters, digits, '-' and '_', not starting with '-' or '_').</summary>
    public static string ParseClusterName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        bool valid = name.Length is > 0 and <= MaxClusterNameLength && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
        return valid ? name : throw new UsageException($"invalid --cluster-name '{name}': 1 to {MaxClusterNameLength} letters, digits, '-' or '_', starting with a letter or digit");
    }

    /// <summary>$XDG_STATE_HOME/actorvmm/NAME-HOST-PORT (or ~/.local/state/...): one per node, so several nodes can share a machine.</summary>
    public static string DefaultStateDirectory(string clusterName, ClusterEndpoint self)
    {
        ArgumentNullException.ThrowIfNull(self);
        string? xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        string root = !string.IsNullOrEmpty(xdg) && Path.IsPathFullyQualified(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return Path.Combine(root, "actorvmm", $"{clusterName}-{self.Host}-{self.Port}");
    }

    /// <summary>The host's RAM (MemTotal in /proc/meminfo), the default memory capacity.</summary>
    public static ulong HostRam()
    {
        const string MemInfo = "/proc/meminfo";
        if (File.Exists(MemInfo))
        {
            foreach (string line in File.ReadLines(MemInfo))
            {
                // "MemTotal:       24567890 kB"
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && parts[0] == "MemTotal:" && ulong.TryParse(parts[1], out ulong kib))
                {
                    return kib * SizeParser.KiB;
                }
            }
        }

        throw new UsageException("cannot read the host's RAM from /proc/meminfo; give --capacity-mem");
    }
}
