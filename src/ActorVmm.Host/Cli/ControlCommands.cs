using System.CommandLine;
using System.Text;
using ActorVmm.Host.Control;

namespace ActorVmm.Host.Cli;

/// <summary><c>actorvmm list|stat|pause|resume|stop</c>: talk to running hosts over their control sockets.</summary>
public static class ControlCommands
{
    /// <summary>The <c>list</c> command: every VM of every host of this user.</summary>
    public static Command List()
    {
        var command = new Command("list", "List the VMs of every running actorvmm host of this user");
        command.SetAction(async (_, token) =>
        {
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

    /// <summary>A command that acts on one VM by name (stat, pause, resume, stop).</summary>
    public static Command ForVm(string verb)
    {
        var name = new Argument<string>("name") { Description = "The VM's name (see 'actorvmm list')" };
        var command = new Command(verb, Describe(verb)) { name };
        command.SetAction((parse, token) => SendAsync(verb, parse.GetValue(name)!, token));
        return command;
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

    private static async Task<int> SendAsync(string verb, string name, CancellationToken token)
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
            response = await ControlClient.SendAsync(match.Socket, new ControlRequest(verb, name), token);
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
        if (verb == "stat" && vm is not null)
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
