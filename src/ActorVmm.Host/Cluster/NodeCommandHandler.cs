using ActorVmm.Actors.Hosting;
using ActorVmm.Cluster.Node;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Hosting;
using ActorVmm.Host.Logging;
using Akka.Actor;
using Serilog.Extensions.Logging;

namespace ActorVmm.Host.Cluster;

/// <summary>
/// <c>actorvmm node</c>: a long-running VM host in a cluster. It joins the seeds (or starts the
/// cluster when it is the first seed), hosts the VMs sharding places on it, and serves control
/// commands through its fleet gateway. SIGINT, SIGTERM and SIGHUP make it leave gracefully: its VMs
/// are stopped here and boot again on the other nodes. A node the split-brain resolver downs stops
/// its VMs and exits with 69.
/// </summary>
public static class NodeCommandHandler
{
    /// <summary>How long a graceful leave (hand-off of every VM) may take before the node stops anyway.</summary>
    public static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs the node until a stop signal or until it is removed from the cluster; returns the exit code.</summary>
    public static async Task<int> RunAsync(NodeArguments args, IBackendCatalog catalog, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(error);
        NodePlan plan;
        (BackendKind Kind, string Reason) backend;
        try
        {
            plan = NodePlanner.Plan(args);
            backend = BackendSelector.Select(plan.Backend, catalog);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"actorvmm: {ex.Message}");
            return ExitCodes.Usage;
        }

        if (ActorVmm.Cluster.Durable.LmdbNativeLibrary.Problem() is { } lmdb)
        {
            await error.WriteLineAsync($"actorvmm: {lmdb}");
            return ExitCodes.Unavailable;
        }

        using var logger = HostLogging.Create(plan.Logging);
        using var signals = new StopSignals();
        using var loggers = new SerilogLoggerFactory(logger);
        var log = logger.ForContext("SourceContext", "ActorVmm.Host.Cluster.Node");
        using var hypervisor = catalog.Create(backend.Kind, loggers);
        ActorSystem system;
        try
        {
            var config = ClusterNodeConfig.ForNode(plan.Options, VmmHost.LoadConfig(plan.ConfigHocon));
            system = ActorVmmSystem.Create(plan.Options.ClusterName, config, loggers);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await error.WriteLineAsync($"actorvmm: cannot start node {plan.Options.Self}: {OneLine(ex)}");
            return ExitCodes.Unavailable;
        }

        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        var region = ActorVmm.Cluster.Node.ClusterNode.StartVmHost(system, hypervisor, loggers);
        log.Information("Node {Address} on backend {Backend} offers {Capacity}; seeds {Seeds}; state in {StateDirectory}",
            plan.Address, backend.Kind.ToName(), plan.Options.Capacity, string.Join(", ", plan.Options.Seeds), plan.Options.StateDirectory);
        await error.WriteLineAsync($"actorvmm node: {plan.Address} ({backend.Kind.ToName()}, {plan.Options.Capacity}) joining {string.Join(", ", plan.Options.Seeds)}");

        // "Up" once placement can choose this node: a member, and its VM shard region known to the coordinator.
        using var stopping = new CancellationTokenSource();
        var ready = up.Task.ContinueWith(_ => ActorVmm.Cluster.Node.ClusterNode.WhenTakingVmsAsync(system, region, stopping.Token), stopping.Token, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default).Unwrap();
        if (await Task.WhenAny(ready, signals.Requested, system.WhenTerminated) == ready && ready.IsCompletedSuccessfully)
        {
            await error.WriteLineAsync($"actorvmm node: up in cluster '{plan.Options.ClusterName}' ({cluster.State.Members.Count} members), taking VMs");
        }

        await stopping.CancelAsync();

        await Task.WhenAny(signals.Requested, system.WhenTerminated);
        if (signals.Received is { } signal)
        {
            log.Information("Node {Address} leaves the cluster ({Signal}); its VMs move to the other nodes", plan.Address, signal);
            var leave = CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
            if (await Task.WhenAny(leave, Task.Delay(LeaveTimeout)) != leave)
            {
                log.Warning("Node {Address} did not leave within {Timeout}; stopping anyway", plan.Address, LeaveTimeout);
                await system.Terminate();
            }

            return ExitCodes.ForSignal(signal);
        }

        await error.WriteLineAsync($"actorvmm node: {plan.Address} was removed from the cluster (downed, or it could not stay a member); its VMs are stopped");
        return ExitCodes.Unavailable;
    }

    private static string OneLine(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null && inner is System.Reflection.TargetInvocationException or AggregateException or Akka.Configuration.ConfigurationException)
        {
            inner = inner.InnerException;
        }

        return string.Join(' ', inner.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
