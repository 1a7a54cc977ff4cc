using ActorVmm.Actors.Hosting;
using ActorVmm.Cluster.Node;
using ActorVmm.Cluster.Placement;
using Akka.Configuration;

namespace ActorVmm.Cluster.Tests.Node;

public sealed class ClusterNodeConfigTests
{
    private static readonly ClusterNodeOptions Options = new(
        "fleet-a", new ClusterEndpoint("127.0.0.1", 4055), [new ClusterEndpoint("127.0.0.1", 4053), new ClusterEndpoint("::1", 4054)],
        new VmResources(8UL << 30, 4), "/var/lib/actorvmm/node");

    [Theory]
    [InlineData("10.0.0.1:4053", "10.0.0.1", 4053)]
    [InlineData(" node-a.example:1 ", "node-a.example", 1)]
    [InlineData("[::1]:65535", "::1", 65535)]
    public void Endpoints_parse_from_host_and_port(string text, string host, int port) =>
        Assert.Equal(new ClusterEndpoint(host, port), ClusterEndpoint.Parse(text));

    [Theory]
    [InlineData("10.0.0.1", "is not HOST:PORT")]
    [InlineData("10.0.0.1:0", "no valid port")]
    [InlineData("10.0.0.1:65536", "no valid port")]
    [InlineData("10.0.0.1:-1", "no valid port")]
    [InlineData("0.0.0.0:4053", "not an address other nodes can reach")]
    [InlineData("bad host:4053", "no valid host name")]
    public void Bad_endpoints_are_refused_with_the_reason(string text, string reason) =>
        Assert.Contains(reason, Assert.Throws<FormatException>(() => ClusterEndpoint.Parse(text)).Message, StringComparison.Ordinal);

    [Fact]
    public void A_node_binds_its_address_joins_its_seeds_and_declares_its_capacity_as_roles()
    {
        var config = ClusterNodeConfig.ForNode(Options, ActorVmmConfig.Load());

        Assert.Equal("cluster", config.GetString("akka.actor.provider"));
        Assert.Equal("127.0.0.1", config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(4055, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["akka.tcp://fleet-a@127.0.0.1:4053", "akka.tcp://fleet-a@[::1]:4054"], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(new VmResources(8UL << 30, 4), NodeRoles.Capacity(config.GetStringList("akka.cluster.roles")));
        Assert.Equal(Path.Combine(Options.StateDirectory, ClusterNodeConfig.RegistryDirectory), config.GetString("akka.cluster.distributed-data.durable.lmdb.dir"));
        Assert.Equal(Path.Combine(Options.StateDirectory, ClusterNodeConfig.ShardingDirectory), config.GetString("akka.cluster.sharding.distributed-data.durable.lmdb.dir"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
    }

    [Fact]
    public void With_tls_on_the_seeds_are_addressed_over_akka_ssl_tcp()
    {
        var tls = ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = true").WithFallback(ActorVmmConfig.Load());

        var config = ClusterNodeConfig.ForNode(Options, tls);

        Assert.All(config.GetStringList("akka.cluster.seed-nodes"), seed => Assert.StartsWith(ClusterEndpoint.TlsProtocol + "://fleet-a@", seed, StringComparison.Ordinal));
    }

    [Fact]
    public void Roles_without_the_host_role_or_a_capacity_declare_no_capacity()
    {
        Assert.Null(NodeRoles.Capacity([NodeRoles.MemoryPrefix + "1024", NodeRoles.VcpuPrefix + "2"]));
        Assert.Null(NodeRoles.Capacity([NodeRoles.Host, NodeRoles.MemoryPrefix + "1024"]));
        Assert.Null(NodeRoles.Capacity([NodeRoles.Host, NodeRoles.MemoryPrefix + "lots", NodeRoles.VcpuPrefix + "2"]));
        Assert.Equal(new VmResources(1024, 2), NodeRoles.Capacity(NodeRoles.For(new VmResources(1024, 2))));
    }
}
