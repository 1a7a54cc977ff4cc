using System.Globalization;
using ActorVmm.Cluster.Placement;
using Akka.Configuration;

namespace ActorVmm.Cluster.Node;

/// <summary>
/// The settings a node or a client owns whatever --config says: the actor provider, the transport's
/// address, the seeds, the roles (VM host and declared capacity) and the LMDB directories. The
/// cluster's behaviour (split-brain resolver, sharding, remember-entities, durable keys, timings)
/// is in config/akka.hocon, and TLS or timings can be layered over it with --config.
/// </summary>
public static class ClusterNodeConfig
{
    /// <summary>The LMDB directory of the VM registry's replicator, under the node's state directory.</summary>
    public const string RegistryDirectory = "registry";

    /// <summary>The LMDB directory of sharding's replicator (remembered entities), under the node's state directory.</summary>
    public const string ShardingDirectory = "sharding";

    /// <summary>True when <paramref name="settings"/> turn TLS on for the transport (then addresses use akka.ssl.tcp).</summary>
    public static bool UsesTls(Config settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl", false);
    }

    /// <summary>The node's own settings over <paramref name="settings"/> (config/akka.hocon with --config over it): the whole configuration.</summary>
    public static Config ForNode(ClusterNodeOptions options, Config settings)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(settings);
        bool tls = UsesTls(settings);
        string seeds = string.Join(", ", options.Seeds.Select(s => Quote(s.AkkaAddress(options.ClusterName, tls))));
        string roles = string.Join(", ", NodeRoles.For(options.Capacity).Select(Quote));
        return ConfigurationFactory.ParseString($"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = {Quote(options.Self.Host)}
            akka.remote.dot-netty.tcp.port = {options.Self.Port.ToString(CultureInfo.InvariantCulture)}
            akka.cluster.seed-nodes = [{seeds}]
            akka.cluster.roles = [{roles}]
            akka.cluster.distributed-data.durable.lmdb.dir = {Quote(Path.Combine(options.StateDirectory, RegistryDirectory))}
            akka.cluster.sharding.distributed-data.durable.lmdb.dir = {Quote(Path.Combine(options.StateDirectory, ShardingDirectory))}
            """).WithFallback(settings);
    }

    /// <summary>A client's own settings: plain remoting (it never joins) bound to <paramref name="localAddress"/> on a free port.</summary>
    public static Config ForClient(string localAddress) => ConfigurationFactory.ParseString($"""
        akka.loglevel = ERROR
        akka.remote.log-remote-lifecycle-events = off
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp.hostname = {Quote(localAddress)}
        akka.remote.dot-netty.tcp.port = 0
        """);

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
