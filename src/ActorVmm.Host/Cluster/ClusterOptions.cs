using System.CommandLine;
using ActorVmm.Cluster.Node;

namespace ActorVmm.Host.Cluster;

/// <summary>The options a command takes to work against a cluster instead of this host: --cluster, --cluster-name, --config.</summary>
public sealed class ClusterOptions
{
    /// <summary>Options with a --config of their own, which applies only with --cluster.</summary>
    public ClusterOptions()
        : this(null)
    {
    }

    /// <summary>Options that share the command's own <paramref name="sharedConfig"/> (it applies without --cluster too), or have their own when null.</summary>
    public ClusterOptions(Option<string>? sharedConfig)
    {
        ConfigAppliesLocally = sharedConfig is not null;
        Config = sharedConfig ?? new("--config") { Description = "Extra HOCON layered over config/akka.hocon (TLS settings must match the nodes')" };
    }

    /// <summary>True when --config is the command's own and also applies without --cluster.</summary>
    public bool ConfigAppliesLocally { get; }

    /// <summary>--cluster HOST:PORT[,...]: any node(s) of the cluster.</summary>
    public Option<string> Cluster { get; } = new("--cluster") { Description = "Work against the cluster reached at HOST:PORT[,HOST:PORT...] (any node) instead of this host" };

    /// <summary>--cluster-name.</summary>
    public Option<string> Name { get; } = new("--cluster-name") { Description = "The cluster's name (the nodes' --cluster-name)", DefaultValueFactory = _ => ClusterNodeOptions.DefaultClusterName };

    /// <summary>--config: extra HOCON, e.g. the transport's TLS settings, which must match the nodes'.</summary>
    public Option<string> Config { get; }

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Cluster);
        command.Options.Add(Name);
        if (!ConfigAppliesLocally)
        {
            command.Options.Add(Config);
        }
    }

    /// <summary>The cluster the command line names, or null when it names none (bad values are a UsageException).</summary>
    public ClusterTarget? Read(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.GetValue(Cluster) is { } cluster ? ClusterTarget.Parse(cluster, parse.GetValue(Name)!, parse.GetValue(Config)) : null;
    }
}
