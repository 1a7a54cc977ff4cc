using System.CommandLine;
using ActorVmm.Cluster.Node;

namespace ActorVmm.Host.Cluster;

/// <summary>The options a command takes to work against a cluster instead of this host: --cluster, --cluster-name, --config.</summary>
public sealed class ClusterOptions
{
    /// <summary>--cluster HOST:PORT[,...]: any node(s) of the cluster.</summary>
    public Option<string> Cluster { get; } = new("--cluster") { Description = "Work against the cluster reached at HOST:PORT[,HOST:PORT...] (any node) instead of this host" };

    /// <summary>--cluster-name.</summary>
    public Option<string> Name { get; } = new("--cluster-name") { Description = "The cluster's name (the nodes' --cluster-name)", DefaultValueFactory = _ => ClusterNodeOptions.DefaultClusterName };

    /// <summary>--config: extra HOCON, e.g. the transport's TLS settings, which must match the nodes'.</summary>
    public Option<string> Config { get; } = new("--config") { Description = "Extra HOCON layered over config/akka.hocon (TLS settings must match the nodes')" };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Options.Add(Cluster);
        command.Options.Add(Name);
        command.Options.Add(Config);
    }

    /// <summary>The cluster the command line names, or null when it names none (bad values are a UsageException).</summary>
    public ClusterTarget? Read(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.GetValue(Cluster) is { } cluster ? ClusterTarget.Parse(cluster, parse.GetValue(Name)!, parse.GetValue(Config)) : null;
    }
}
