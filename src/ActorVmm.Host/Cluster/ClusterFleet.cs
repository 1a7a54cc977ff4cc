using System.Diagnostics;
using System.Globalization;
using ActorVmm.Cluster.Client;
using ActorVmm.Cluster.Gateway;
using ActorVmm.Host.Cli;

namespace ActorVmm.Host.Cluster;

/// <summary>
/// <c>actorvmm fleet --cluster HOST:PORT</c>: creates the fleet's VMs through one node (a few creates in
/// flight at once), each placed wherever a node has room, then prints the nodes with their VM counts
/// and the placement rate. VMs that could not be created are named on stderr with the reason.
/// </summary>
public static class ClusterFleet
{
    /// <summary>Creates every VM of <paramref name="plan"/>; exit 0 when all were created, 69 otherwise.</summary>
    public static Task<int> RunAsync(ClusterTarget target, ClusterFleetPlan plan, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return ClusterControl.WithClientAsync(target, async client =>
        {
            var clock = Stopwatch.StartNew();
            int created = 0;
            var refusals = new List<string>();
            await Parallel.ForEachAsync(plan.Vms, new ParallelOptions { MaxDegreeOfParallelism = plan.Concurrency, CancellationToken = token }, async (spec, ct) =>
            {
                object answer;
                try
                {
                    answer = await client.AskAsync(new ClusterFleetProtocol.CreateVm(spec), ClusterControl.CreateTimeout, ct);
                }
                catch (ClusterUnavailableException ex)
                {
                    answer = new ClusterFleetProtocol.Refused(spec.Name, ex.Message);
                }

                lock (refusals)
                {
                    if (answer is ClusterFleetProtocol.VmCreated)
                    {
                        created++;
                    }
                    else
                    {
                        refusals.Add($"{spec.Name}: {(answer as ClusterFleetProtocol.Refused)?.Reason ?? answer.GetType().Name}");
                    }
                }
            });
            double seconds = clock.Elapsed.TotalSeconds;

            foreach (string refusal in refusals.Order(StringComparer.Ordinal))
            {
                await Console.Error.WriteLineAsync($"actorvmm: not created: {refusal}");
            }

            var nodes = await client.AskAsync(ClusterFleetProtocol.ListNodes.Instance, ClusterControl.RequestTimeout, token);
            if (nodes is ClusterFleetProtocol.NodeList list)
            {
                await Console.Out.WriteAsync(ClusterTables.Nodes(list.Nodes));
            }

            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"created {created} of {plan.Vms.Count} VMs in {seconds:F1} s ({created / Math.Max(seconds, 1e-9):F1} VMs/s) through {string.Join(",", target.Contacts)}"));
            return created == plan.Vms.Count ? ExitCodes.Success : ExitCodes.Unavailable;
        });
    }
}
