using ActorVmm.Host.Vms;
using Spectre.Console;

namespace ActorVmm.Host.Fleet;

/// <summary>The fleet's status table (Spectre.Console): per-VM state, exits/s and restarts, plus totals.</summary>
public sealed class FleetView
{
    /// <summary>Rows shown per VM before the rest are summed into the totals only.</summary>
    public const int MaxRows = 20;

    private readonly Dictionary<string, (long Exits, long Timestamp)> _previous = new(StringComparer.Ordinal);

    /// <summary>Builds the table for the VMs' current state; exits/s is measured since the previous call.</summary>
    public Table Render(IReadOnlyList<IVmHandle> vms, int requested)
    {
        ArgumentNullException.ThrowIfNull(vms);
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        var table = new Table().Border(TableBorder.Rounded).Title($"actorvmm fleet: {vms.Count}/{requested} VMs launched");
        table.AddColumns("VM", "state", "exits", "exits/s", "restarts", "first insn");
        long totalExits = 0;
        double totalRate = 0;
        int totalRestarts = 0;
        var byState = new Dictionary<VmState, int>();
        for (int i = 0; i < vms.Count; i++)
        {
            var vm = vms[i];
            var counters = vm.Counters;
            double rate = 0;
            if (_previous.TryGetValue(vm.Name, out var before))
            {
                double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(before.Timestamp, now).TotalSeconds;
                rate = seconds > 0 ? (counters.Exits - before.Exits) / seconds : 0;
            }

            _previous[vm.Name] = (counters.Exits, now);
            totalExits += counters.Exits;
            totalRate += rate;
            totalRestarts += counters.Restarts;
            var state = vm.State;
            byState[state] = byState.GetValueOrDefault(state) + 1;
            if (i < MaxRows)
            {
                table.AddRow(vm.Name, StateMarkup(state), counters.Exits.ToString(), rate.ToString("F0"), counters.Restarts.ToString(),
                    vm.TimeToFirstExit is { } first ? $"{first.TotalMilliseconds:F2} ms" : "-");
            }
        }

        if (vms.Count > MaxRows)
        {
            table.AddRow($"… {vms.Count - MaxRows} more", string.Empty, string.Empty, string.Empty, string.Empty, string.Empty);
        }

        string states = string.Join(", ", byState.OrderBy(s => s.Key).Select(s => $"{s.Value} {s.Key.ToString().ToLowerInvariant()}"));
        table.AddRow(new Markup("[bold]total[/]"), new Text(states), new Text(totalExits.ToString()), new Text(totalRate.ToString("F0")), new Text(totalRestarts.ToString()), new Text(string.Empty));
        return table;
    }

    private static string StateMarkup(VmState state) => state switch
    {
        VmState.Running => "[green]running[/]",
        VmState.Paused => "[yellow]paused[/]",
        VmState.Failed => "[red]failed[/]",
        VmState.Stopped => "[grey]stopped[/]",
        _ => "starting",
    };
}
