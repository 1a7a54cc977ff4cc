using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Fleet;
using Xunit.Abstractions;

namespace ActorVmm.Host.Tests.EndToEnd;

/// <summary>The cluster tests run alone: three node processes and their VMs already fill a 2-core machine.</summary>
[CollectionDefinition(nameof(ClusterCollection), DisableParallelization = true)]
public sealed class ClusterCollection;

/// <summary>
/// <c>actorvmm node</c>, <c>fleet --cluster</c>, <c>list --cluster</c> and <c>create --cluster</c> as processes:
/// three nodes on loopback, 30 VMs (emulator) created through one node, one node killed with SIGKILL.
/// </summary>
[Collection(nameof(ClusterCollection))]
public sealed partial class ClusterTests(ITestOutputHelper output) : IDisposable
{
    private const int VmCount = 30;
    // 3 x 16 vCPUs hold the 30 one-vCPU VMs, and so do the two nodes left after one is killed.
    private const int NodeVcpus = 16;
    private const string Sigkill = "9";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-cluster-").FullName;
    private readonly List<ActorVmmProcess> _nodes = [];

    public void Dispose()
    {
        foreach (var node in _nodes)
        {
            node.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Thirty_vms_spread_over_three_nodes_survive_a_killed_node_once_each_and_a_new_node_takes_new_vms()
    {
        int[] ports = [FreePort(), FreePort(), FreePort()];
        string seeds = $"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}";
        foreach (int port in ports)
        {
            StartNode(port, seeds);
        }

        foreach (var node in _nodes)
        {
            await UntilAsync(() => Task.FromResult(node.Stderr), e => e.Contains("actorvmm node: up in cluster", StringComparison.Ordinal), "a node up");
        }

        // 30 VMs through one node: each node takes some, none more than its 12 vCPUs.
        string consoles = Directory.CreateDirectory(Path.Combine(_dir, "consoles")).FullName;
        using (var fleet = ActorVmmProcess.Start(_dir, "fleet", "--count", VmCount.ToString(CultureInfo.InvariantCulture), "--mem", "4M", "--console-dir", consoles, "--cluster", Contact(ports[0])))
        {
            int code = await fleet.WaitForExitAsync(Patience);
            Assert.True(code == ExitCodes.Success, $"fleet exit {code}: {fleet.Stderr}");
            output.WriteLine(fleet.Stdout);
            Assert.Matches(CreatedLine(), fleet.Stdout);
        }

        var placements = new List<Dictionary<string, string>>();
        foreach (int port in ports)
        {
            placements.Add(await UntilAsync(() => ListAsync(port), l => l.Count == VmCount && l.Values.All(v => v.State == "running"), $"list from node {port}")
                .ContinueWith(t => t.Result.ToDictionary(v => v.Key, v => v.Value.Node), TaskScheduler.Default));
        }

        Assert.All(placements.Skip(1), p => Assert.Equal(placements[0].OrderBy(v => v.Key), p.OrderBy(v => v.Key)));
        foreach (int port in ports)
        {
            int count = placements[0].Values.Count(n => n == Contact(port));
            Assert.InRange(count, 1, NodeVcpus);
        }

        // SIGKILL one node: its VMs run again on the other two, and nowhere twice.
        string dead = Contact(ports[2]);
        var orphans = placements[0].Where(p => p.Value == dead).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var killedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        _nodes[2].Signal(int.Parse(Sigkill, CultureInfo.InvariantCulture));
        var after = await UntilAsync(() => ListAsync(ports[0]), l => l.Count == VmCount && l.Values.All(v => v.State == "running" && v.Node != dead), "every VM running on the survivors");
        output.WriteLine($"{orphans.Count} VMs of the killed node running on the survivors {clock.Elapsed.TotalSeconds:F1} s after SIGKILL (seen through list --cluster)");

        foreach (var (name, vm) in after)
        {
            var boots = BootLines(Path.Combine(consoles, name + ".log"));
            if (orphans.Contains(name))
            {
                Assert.Equal(2, boots.Count);
                Assert.EndsWith(dead, boots[0].Node, StringComparison.Ordinal);
                Assert.EndsWith(vm.Node, boots[1].Node, StringComparison.Ordinal);
                Assert.True(boots[1].At > killedAt, $"{name} booted again at {boots[1].At:O}, before its node was killed at {killedAt:O}");
            }
            else
            {
                Assert.Equal(placements[0][name], vm.Node);
                Assert.EndsWith(vm.Node, Assert.Single(boots).Node, StringComparison.Ordinal);
            }

            Assert.Contains(FleetGuest.Greeting.TrimEnd(), File.ReadAllText(Path.Combine(consoles, name + ".log")), StringComparison.Ordinal);
        }

        // A node that joins later takes the next VM (it is the least loaded).
        int late = FreePort();
        StartNode(late, seeds);
        await UntilAsync(() => Task.FromResult(_nodes[^1].Stderr), e => e.Contains("actorvmm node: up in cluster", StringComparison.Ordinal), "the new node up");
        string image = Path.Combine(_dir, "guest.bin");
        await File.WriteAllBytesAsync(image, FleetGuest.Build(0, hold: true));
        var (createCode, created, createErrors) = await RunAsync("create", "late", "--image", image, "--mem", "4M", "--cluster", Contact(ports[1]));
        Assert.True(createCode == ExitCodes.Success, $"create exit {createCode}: {createErrors}");
        Assert.Equal($"late: running on {Contact(late)}", created.Trim());
    }

    [Fact]
    public async Task A_cluster_that_does_not_answer_is_one_line_and_exit_69()
    {
        var (code, stdout, stderr) = await RunAsync("list", "--cluster", Contact(FreePort()));

        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Empty(stdout);
        Assert.StartsWith("actorvmm: no answer from the cluster at 127.0.0.1:", stderr, StringComparison.Ordinal);
    }

    private void StartNode(int port, string seeds) =>
        _nodes.Add(ActorVmmProcess.Start(_dir, "node", "--seed", seeds, "--port", port.ToString(CultureInfo.InvariantCulture), "--backend", "emulator",
            "--capacity-mem", "256M", "--capacity-vcpus", NodeVcpus.ToString(CultureInfo.InvariantCulture), "--state-dir", Path.Combine(_dir, $"state-{port}"), "--log-level", "warning"));

    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var process = ActorVmmProcess.Start(_dir, args);
        int code = await process.WaitForExitAsync(Patience);
        return (code, process.Stdout, process.Stderr);
    }

    /// <summary>list --cluster through the node at <paramref name="port"/>: VM name to (state, HOST:PORT); empty when it failed.</summary>
    private async Task<Dictionary<string, (string State, string Node)>> ListAsync(int port)
    {
        var (code, stdout, _) = await RunAsync("list", "--cluster", Contact(port));
        var vms = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        if (code != ExitCodes.Success)
        {
            return vms;
        }

        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            string[] columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            vms[columns[0]] = (columns[1], columns[^1]);
        }

        return vms;
    }

    private static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        T last = await probe();
        while (!condition(last))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what}: not within {Patience.TotalSeconds} s; last: {Describe(last)}");
            await Task.Delay(TimeSpan.FromSeconds(1));
            last = await probe();
        }

        return last;
    }

    private static string Describe<T>(T value) => value switch
    {
        Dictionary<string, (string State, string Node)> vms => string.Join("; ", vms.Select(v => $"{v.Key} {v.Value.State} {v.Value.Node}")),
        _ => value?.ToString() ?? "null",
    };

    /// <summary>The lines "actorvmm: VM NAME boots on node ADDRESS at TIME" the booting node writes to the VM's console log.</summary>
    private static List<(string Node, DateTimeOffset At)> BootLines(string log) =>
        [.. File.ReadAllLines(log).Select(l => BootLine().Match(l)).Where(m => m.Success)
            .Select(m => (m.Groups["node"].Value, DateTimeOffset.Parse(m.Groups["at"].Value, CultureInfo.InvariantCulture)))];

    private static string Contact(int port) => $"127.0.0.1:{port}";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^actorvmm: VM \S+ boots on node (?<node>\S+) at (?<at>\S+)$")]
    private static partial Regex BootLine();

    [GeneratedRegex(@"created 30 of 30 VMs in [0-9.]+ s \([0-9.]+ VMs/s\)")]
    private static partial Regex CreatedLine();
}
