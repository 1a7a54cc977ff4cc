using System.CommandLine;
using System.Text;
using ActorVmm.Cluster.Registry;
using ActorVmm.Host.Cluster;
using ActorVmm.Host.Control;

namespace ActorVmm.Host.Cli;

/// <summary>
/// <c>actorvmm list|stat|pause|resume|stop</c>: talk to running hosts over their control sockets, or,
/// given <c>--cluster HOST:PORT</c>, to a cluster of nodes (where <c>create</c> and <c>nodes</c> also apply).
/// </summary>
public static class ControlCommands
{
    /// <summary>The <c>list</c> command: every VM of every host of this user, or of the cluster.</summary>
    public static Command List()
    {
        var command = new Command("list", "List the VMs of every running actorvmm host of this user (with --cluster: of the cluster, with each VM's node)");
        var cluster = new ClusterOptions();
        cluster.AddTo(command);
        command.SetAction(async (parse, token) =>
        {
            var target = await ReadClusterAsync(parse, cluster);
            if (target.Code is { } code)
            {
                return code;
            }

            if (target.Cluster is { } c)
            {
                return await ClusterControl.ListAsync(c, token);
            }

            IReadOnlyList<(string Socket, VmStatus Vm)> vms;
            try
            {
                vms = await ControlClient.ListAllAsync(token);
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"actorvmm: {ex.Message}");
                return ExitCodes.Unavailable;
            }

            await Console.Out.WriteAsync(FormatTable(vms.Select(v => v.Vm).ToList()));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A command that acts on one VM by name (stat, pause, resume, stop), here or wherever it runs in the cluster.</summary>
    public static Command ForVm(string verb)
    {
        var name = new Argument<string>("name") { Description = "The VM's name (see 'actorvmm list')" };
        var command = new Command(verb, Describe(verb)) { name };
        var cluster = new ClusterOptions();
        cluster.AddTo(command);
        command.SetAction(async (parse, token) =>
        {
            var target = await ReadClusterAsync(parse, cluster);
            if (target.Code is { } code)
            {
                return code;
            }

            return target.Cluster is { } c
                ? await ClusterControl.CommandAsync(c, verb, parse.GetValue(name)!, token)
                : await SendAsync(verb, parse.GetValue(name)!, token);
        });
        return command;
    }

    /// <summary>The <c>screenshot NAME FILE.png</c> command: the running VM's framebuffer as a PNG file, written by its host.</summary>
    public static Command Screenshot()
    {
        var name = new Argument<string>("name") { Description = "The VM's name (see 'actorvmm list')" };
        var file = new Argument<string>("file") { Description = "The PNG file to write (created or replaced)" };
        var command = new Command("screenshot", "Write a VM's framebuffer (run with --vesa) as a PNG file, without pausing the VM") { name, file };
        command.SetAction(async (parse, token) =>
        {
            string path = parse.GetValue(file)!;
            try
            {
                // Checked here, where the user is, before the host (same user) writes it.
                OutputPaths.CheckFile("screenshot", path);
            }
            catch (UsageException ex)
            {
                await Console.Error.WriteLineAsync($"actorvmm: {ex.Message}");
                return ExitCodes.Usage;
            }

            return await SendAsync("screenshot", parse.GetValue(name)!, token, Path.GetFullPath(path));
        });
        return command;
    }

    /// <summary>The <c>create</c> command: defines a VM in the cluster and boots it on a node with room.</summary>
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The VM's name, unique in the cluster" };
        var image = new Option<string>("--image") { Description = "Flat binary loaded at 0x10000 (a path that exists on every node)", Required = true };
        var memory = new Option<string>("--mem", "-m") { Description = "Guest RAM with a unit: 64M, 1G (a plain number is MiB)", DefaultValueFactory = _ => RunPlanner.DefaultMemory };
        var cpus = new Option<int>("--cpus", "-c") { Description = "Number of vCPUs", DefaultValueFactory = _ => 1 };
        var consoleLog = new Option<string>("--console-log") { Description = "File the node appends the guest console to (a path whose directory exists on every node)" };
        var command = new Command("create", "Create a VM in a cluster (--cluster HOST:PORT): placed on a node with room, restarted elsewhere if that node dies") { name, image, memory, cpus, consoleLog };
        var cluster = new ClusterOptions();
        cluster.AddTo(command);
        command.SetAction(async (parse, token) =>
        {
            var target = await RequireClusterAsync(parse, cluster, "create needs --cluster HOST:PORT (a VM on this host alone starts with 'actorvmm run')");
            if (target.Cluster is not { } c)
            {
                return target.Code ?? ExitCodes.Usage;
            }

            ClusterVmSpec spec;
            try
            {
                ulong bytes = RunPlanner.ParseMemory(parse.GetValue(memory)!);
                int vcpus = RunPlanner.ParseCpus(parse.GetValue(cpus));
                string vm = parse.GetValue(name)!;
                string? log = parse.GetValue(consoleLog) is { } l ? ClusterPaths.Absolute("--console-log", l) : null;
                spec = new ClusterVmSpec(vm, bytes, vcpus, ClusterPaths.Absolute("--image", parse.GetValue(image)!), null, log);
                if (spec.Problem() is { } problem)
                {
                    throw new UsageException(problem);
                }
            }
            catch (UsageException ex)
            {
                await Console.Error.WriteLineAsync($"actorvmm: {ex.Message}");
                return ExitCodes.Usage;
            }

            return await ClusterControl.CreateAsync(c, spec, token);
        });
        return command;
    }

    /// <summary>The <c>nodes</c> command: a cluster's members with their capacity, use and VM count.</summary>
    public static Command Nodes()
    {
        var command = new Command("nodes", "List a cluster's nodes (--cluster HOST:PORT) with their capacity, what their VMs use, and their VM count");
        var cluster = new ClusterOptions();
        cluster.AddTo(command);
        command.SetAction(async (parse, token) =>
        {
            var target = await RequireClusterAsync(parse, cluster, "nodes needs --cluster HOST:PORT");
            if (target.Cluster is not { } c)
            {
                return target.Code ?? ExitCodes.Usage;
            }

            return await ClusterControl.NodesAsync(c, token);
        });
        return command;
    }

    /// <summary>The cluster the options name, or the exit code of bad input or of no --cluster (<paramref name="missing"/>), already reported.</summary>
    private static async Task<(ClusterTarget? Cluster, int? Code)> RequireClusterAsync(ParseResult parse, ClusterOptions options, string missing)
    {
        var target = await ReadClusterAsync(parse, options);
        if (target.Code is null && target.Cluster is null)
        {
            await Console.Error.WriteLineAsync($"actorvmm: {missing}");
            return (null, ExitCodes.Usage);
        }

        return target;
    }

    /// <summary>The cluster the options name (null: this host), or the exit code of bad input, already reported.</summary>
    internal static async Task<(ClusterTarget? Cluster, int? Code)> ReadClusterAsync(ParseResult parse, ClusterOptions options)
    {
        try
        {
            var target = options.Read(parse);
            if (target is null && ((!options.ConfigAppliesLocally && parse.GetResult(options.Config) is { Implicit: false }) || parse.GetResult(options.Name) is { Implicit: false }))
            {
                throw new UsageException(options.ConfigAppliesLocally ? "--cluster-name applies only with --cluster HOST:PORT" : "--cluster-name and --config apply only with --cluster HOST:PORT");
            }

            return (target, null);
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"actorvmm: {ex.Message}");
            return (null, ExitCodes.Usage);
        }
    }

    /// <summary>Formats VMs as an aligned table, one VM per line (script-friendly: whitespace-separated columns).</summary>
    public static string FormatTable(IReadOnlyList<VmStatus> vms)
    {
        ArgumentNullException.ThrowIfNull(vms);
        string[] header = ["NAME", "STATE", "BACKEND", "MEM", "CPUS", "EXITS", "RESTARTS", "PID"];
        var rows = vms.Select(v => new[]
        {
            v.Name, v.State, v.Backend, SizeParser.Format(v.MemoryBytes), v.Cpus.ToString(), v.Exits.ToString(), v.Restarts.ToString(), v.HostPid.ToString(),
        }).Prepend(header).ToList();
        int[] widths = [.. Enumerable.Range(0, header.Length).Select(c => rows.Max(r => r[c].Length))];
        return string.Concat(rows.Select(r => string.Join("  ", r.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd() + Environment.NewLine));
    }

    /// <summary>What <c>stat NAME</c> prints: one "key: value" line per field, then the PCI functions (one indented line each).</summary>
    public static string FormatStat(VmStatus vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var text = new StringBuilder(
            $"name: {vm.Name}\nstate: {vm.State}\nbackend: {vm.Backend}\nmemory: {SizeParser.Format(vm.MemoryBytes)}\ncpus: {vm.Cpus}\nexits: {vm.Exits}\nrestarts: {vm.Restarts}\nhost-pid: {vm.HostPid}\n");
        if (vm.Pci is { Count: > 0 } functions)
        {
            text.Append("pci:\n");
            foreach (string function in functions)
            {
                text.Append($"  {function}\n");
            }
        }

        return text.ToString();
    }

    private static string Describe(string verb) => verb switch
    {
        "stat" => "Show a VM's state and counters",
        "pause" => "Pause a VM's vCPUs",
        "resume" => "Resume a paused VM",
        _ => "Stop a VM (its host exits when it was the host's only VM)",
    };

    private static async Task<int> SendAsync(string verb, string name, CancellationToken token, string? path = null)
    {
        IReadOnlyList<(string Socket, VmStatus Vm)> hosts;
        try
        {
            hosts = await ControlClient.ListAllAsync(token);
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"actorvmm: {ex.Message}");
            return ExitCodes.Unavailable;
        }

        var match = hosts.FirstOrDefault(h => h.Vm.Name == name);
        if (match.Socket is null)
        {
            await Console.Error.WriteLineAsync($"actorvmm: no running VM called '{name}' (see 'actorvmm list')");
            return ExitCodes.Unavailable;
        }

        ControlResponse response;
        try
        {
            response = await ControlClient.SendAsync(match.Socket, new ControlRequest(verb, name, path), token);
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"actorvmm: {ex.Message}");
            return ExitCodes.Unavailable;
        }

        if (!response.Ok)
        {
            await Console.Error.WriteLineAsync($"actorvmm: {verb} {name}: {response.Error}");
            return ExitCodes.Unavailable;
        }

        var vm = response.Vms is { Count: > 0 } vms ? vms[0] : null;
        if (verb == "screenshot")
        {
            await Console.Out.WriteLineAsync($"{name}: screenshot written to {path}");
        }
        else if (verb == "stat" && vm is not null)
        {
            await Console.Out.WriteAsync(FormatStat(vm));
        }
        else
        {
            await Console.Out.WriteLineAsync($"{name}: {vm?.State ?? "done"}");
        }

        return ExitCodes.Success;
    }
}
