using System.Net;
using System.Net.Sockets;
using ActorVmm.Actors.Hosting;
using ActorVmm.Cluster.Durable;
using ActorVmm.Cluster.Gateway;
using ActorVmm.Cluster.Node;
using ActorVmm.Cluster.Placement;
using ActorVmm.Emulator;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Cluster.Tests.Support;

/// <summary>
/// One cluster node in the test process: its own actor system on a loopback port, configured exactly as
/// <c>actorvmm node</c> configures one (config/akka.hocon under <see cref="ClusterNodeConfig.ForNode"/>),
/// its own LMDB directory, and its VMs on its own emulator.
/// </summary>
internal sealed class TestNode : IAsyncDisposable
{
    private readonly EmulatorHypervisor _hypervisor;

    private TestNode(ActorSystem system, EmulatorHypervisor hypervisor, ClusterEndpoint endpoint, VmResources capacity)
    {
        System = system;
        Address = Akka.Cluster.Cluster.Get(system).SelfAddress.ToString();
        _hypervisor = hypervisor;
        Endpoint = endpoint;
        Capacity = capacity;
    }

    public ActorSystem System { get; }

    public ClusterEndpoint Endpoint { get; }

    public VmResources Capacity { get; }

    /// <summary>The node's address as VM listings show it.</summary>
    public string Address { get; }

    public Akka.Cluster.Cluster Cluster => Akka.Cluster.Cluster.Get(System);

    /// <summary>This node's fleet gateway (what ClusterClient reaches).</summary>
    public ActorSelection Gateway => System.ActorSelection(ClusterFleetProtocol.GatewayPath);

    /// <summary>Starts a VM host on <paramref name="endpoint"/> that joins <paramref name="seeds"/>.</summary>
    public static TestNode Start(ClusterEndpoint endpoint, IReadOnlyList<ClusterEndpoint> seeds, VmResources capacity, string stateRoot, Config? extra = null)
    {
        Assert.Null(LmdbNativeLibrary.Problem());
        var options = new ClusterNodeOptions(TestCluster.Name, endpoint, seeds, capacity, Path.Combine(stateRoot, $"node-{endpoint.Port}"));
        var config = ClusterNodeConfig.ForNode(options, (extra ?? Config.Empty).WithFallback(TestCluster.TestSettings).WithFallback(ActorVmmConfig.Load()));
        var system = ActorVmmSystem.Create(TestCluster.Name, config, NullLoggerFactory.Instance);
        var hypervisor = new EmulatorHypervisor();
        ClusterNode.StartVmHost(system, hypervisor, NullLoggerFactory.Instance);
        return new TestNode(system, hypervisor, endpoint, capacity);
    }

    /// <summary>A loopback endpoint on a port nothing listens on now.</summary>
    public static ClusterEndpoint FreeEndpoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new ClusterEndpoint("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port);
    }

    /// <summary>Asks this node's gateway.</summary>
    public async Task<object> AskAsync(object request, TimeSpan timeout)
    {
        var gateway = await Gateway.ResolveOne(timeout);
        return await gateway.Ask(request, timeout);
    }

    /// <summary>
    /// The process dies: the actor system stops without leaving the cluster (no coordinated shutdown, so no
    /// hand-off), and its VMs stop with it. The others see it unreachable and the split-brain resolver downs it.
    /// </summary>
    public async Task CrashAsync()
    {
        await System.Terminate();
        _hypervisor.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (!System.WhenTerminated.IsCompleted)
        {
            await System.Terminate();
        }

        _hypervisor.Dispose();
    }
}
