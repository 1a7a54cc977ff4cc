using ActorVmm.Cluster.Client;
using ActorVmm.Cluster.Gateway;
using ActorVmm.Cluster.Registry;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Hosting;
using ActorVmm.Host.Logging;
using Serilog.Events;
using Serilog.Extensions.Logging;

namespace ActorVmm.Host.Cluster;

/// <summary>
/// The control commands against a cluster (<c>--cluster HOST:PORT</c>): each starts a
/// <see cref="ClusterFleetClient"/>, sends one request to a node's fleet gateway and prints the
/// answer. A cluster that does not answer is one line and exit 69, as an unreachable local host is.
/// </summary>
public static class ClusterControl
{
    /// <summary>How long a list, stat, pause, resume or nodes request may take.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a create may take (placement and boot included).</summary>
    public static readonly TimeSpan CreateTimeout = FleetGateway.CreateTimeout + TimeSpan.FromSeconds(10);

    /// <summary>How long a stop may take (the VM stops on its node, then it is forgotten).</summary>
    public static readonly TimeSpan StopTimeout = FleetGateway.CommandTimeout + TimeSpan.FromSeconds(10);

    /// <summary>actorvmm list --cluster: every VM of the cluster with its node.</summary>
    public static Task<int> ListAsync(ClusterTarget target, CancellationToken token) =>
        WithClientAsync(target, async client =>
        {
            var answer = await client.AskAsync(ClusterFleetProtocol.ListVms.Instance, RequestTimeout, token);
            if (answer is not ClusterFleetProtocol.VmList list)
            {
                return await RefusedAsync("list", answer);
            }

            await Console.Out.WriteAsync(ClusterTables.Vms(list.Vms));
            return ExitCodes.Success;
        });

    /// <summary>actorvmm nodes --cluster: every member with its capacity and use.</summary>
    public static Task<int> NodesAsync(ClusterTarget target, CancellationToken token) =>
        WithClientAsync(target, async client =>
        {
            var answer = await client.AskAsync(ClusterFleetProtocol.ListNodes.Instance, RequestTimeout, token);
            if (answer is not ClusterFleetProtocol.NodeList nodes)
            {
                return await RefusedAsync("nodes", answer);
            }

            await Console.Out.WriteAsync(ClusterTables.Nodes(nodes.Nodes));
            return ExitCodes.Success;
        });

    /// <summary>actorvmm stat|pause|resume|stop NAME --cluster: acts on the VM wherever it runs.</summary>
    public static Task<int> CommandAsync(ClusterTarget target, string verb, string name, CancellationToken token) =>
        WithClientAsync(target, async client =>
        {
            var answer = await client.AskAsync(new ClusterFleetProtocol.VmCommand(name, verb), verb == "stop" ? StopTimeout : RequestTimeout, token);
            if (answer is not VmInfo vm)
            {
                return await RefusedAsync($"{verb} {name}", answer);
            }

            await Console.Out.WriteAsync(verb == "stat" ? ClusterTables.Stat(vm) : $"{vm.Name}: {(verb == "stop" ? "stopped and removed" : vm.State)} on {ClusterTables.ShortNode(vm.Node)}\n");
            return ExitCodes.Success;
        });

    /// <summary>actorvmm create NAME --cluster: defines a VM and boots it on a node with room.</summary>
    public static Task<int> CreateAsync(ClusterTarget target, ClusterVmSpec spec, CancellationToken token) =>
        WithClientAsync(target, async client =>
        {
            var answer = await client.AskAsync(new ClusterFleetProtocol.CreateVm(spec), CreateTimeout, token);
            if (answer is not ClusterFleetProtocol.VmCreated created)
            {
                return await RefusedAsync($"create {spec.Name}", answer);
            }

            await Console.Out.WriteLineAsync($"{created.Vm.Name}: {created.Vm.State} on {ClusterTables.ShortNode(created.Vm.Node)}");
            return ExitCodes.Success;
        });

    /// <summary>Runs <paramref name="action"/> with a client of <paramref name="target"/>; Akka's warnings go to stderr.</summary>
    public static async Task<int> WithClientAsync(ClusterTarget target, Func<ClusterFleetClient, Task<int>> action)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(action);
        using var logger = HostLogging.Create(new LogSettings(LogEventLevel.Error, null));
        using var loggers = new SerilogLoggerFactory(logger);
        try
        {
            await using var client = ClusterFleetClient.Start(target.ClusterName, target.Contacts, VmmHost.LoadConfig(target.ConfigHocon), loggers);
            return await action(client);
        }
        catch (ClusterUnavailableException ex)
        {
            await Console.Error.WriteLineAsync($"actorvmm: {ex.Message}");
            return ExitCodes.Unavailable;
        }
    }

    private static async Task<int> RefusedAsync(string what, object answer)
    {
        string reason = answer is ClusterFleetProtocol.Refused refused ? refused.Reason : $"unexpected answer {answer.GetType().Name}";
        await Console.Error.WriteLineAsync($"actorvmm: {what}: {reason}");
        return ExitCodes.Unavailable;
    }
}
