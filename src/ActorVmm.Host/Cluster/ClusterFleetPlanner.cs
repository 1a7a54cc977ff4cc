using System.Globalization;
using ActorVmm.Cluster.Registry;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Fleet;

namespace ActorVmm.Host.Cluster;

/// <summary>A validated <c>actorvmm fleet --cluster</c>: the definitions of the VMs to create, in order.</summary>
/// <param name="Vms">One definition per VM (PREFIX0000, PREFIX0001, ...).</param>
/// <param name="Concurrency">How many creates are in flight at once.</param>
public sealed record ClusterFleetPlan(IReadOnlyList<ClusterVmSpec> Vms, int Concurrency);

/// <summary>
/// Validates <c>actorvmm fleet --cluster</c>'s options. The built-in fleet guest travels inline in each
/// definition (it greets, makes its port exits and halts, so the VM stays up until stopped); a given
/// image and console directory are named by absolute path and must exist on every node that may run a VM.
/// </summary>
public static class ClusterFleetPlanner
{
    /// <summary>Creates in flight at once through one client: enough to keep every node busy, few enough not to time out on a loaded host.</summary>
    public const int DefaultConcurrency = 8;

    /// <summary>Validates and builds the plan; bad input is a <see cref="UsageException"/>.</summary>
    public static ClusterFleetPlan Plan(FleetArguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count is < 1 or > FleetPlanner.MaxCount)
        {
            throw new UsageException($"invalid --count: {args.Count}; a fleet has between 1 and {FleetPlanner.MaxCount} VMs");
        }

        if (args.Exits is < 0 or > ushort.MaxValue)
        {
            throw new UsageException($"invalid --exits: {args.Exits}; between 0 and {ushort.MaxValue}");
        }

        ulong memory = RunPlanner.ParseMemory(args.Memory);
        string prefix = args.NamePrefix ?? FleetPlanner.DefaultNamePrefix;
        string? image = args.Image is null ? null : ClusterPaths.Absolute("--image", args.Image);
        byte[]? inline = image is null ? FleetGuest.Build((ushort)args.Exits, hold: true) : null;
        string? consoleDirectory = args.ConsoleDirectory is null ? null : ClusterPaths.Absolute("--console-dir", args.ConsoleDirectory);
        var vms = new List<ClusterVmSpec>(args.Count);
        for (int index = 0; index < args.Count; index++)
        {
            string name = prefix + index.ToString("D4", CultureInfo.InvariantCulture);
            string? log = consoleDirectory is null ? null : Path.Combine(consoleDirectory, name + ".log");
            var spec = new ClusterVmSpec(name, memory, 1, image, inline, log);
            if (spec.Problem() is { } problem)
            {
                throw new UsageException(problem);
            }

            vms.Add(spec);
        }

        return new ClusterFleetPlan(vms, DefaultConcurrency);
    }
}
