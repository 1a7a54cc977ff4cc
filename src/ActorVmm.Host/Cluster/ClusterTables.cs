using ActorVmm.Cluster.Gateway;
using ActorVmm.Host.Cli;

namespace ActorVmm.Host.Cluster;

/// <summary>How cluster listings print: aligned, whitespace-separated columns (script-friendly), nodes as HOST:PORT.</summary>
public static class ClusterTables
{
    /// <summary>The VMs, one per line, with the node that runs each.</summary>
    public static string Vms(IReadOnlyList<VmInfo> vms)
    {
        ArgumentNullException.ThrowIfNull(vms);
        string[] header = ["NAME", "STATE", "BACKEND", "MEM", "CPUS", "EXITS", "RESTARTS", "NODE"];
        return Table(header, vms.Select(v => new[]
        {
            v.Name, v.State, v.Backend, SizeParser.Format(v.MemoryBytes), v.Vcpus.ToString(), v.Exits.ToString(), v.Restarts.ToString(), ShortNode(v.Node),
        }));
    }

    /// <summary>The nodes, one per line, with their capacity, what their VMs use, and their VM count.</summary>
    public static string Nodes(IReadOnlyList<NodeInfo> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        string[] header = ["NODE", "STATUS", "ROLE", "VMS", "MEM-USED", "MEM-CAPACITY", "VCPUS-USED", "VCPUS-CAPACITY"];
        return Table(header, nodes.Select(n => new[]
        {
            ShortNode(n.Address), n.Status.Replace(' ', '-'), n.Roles.Length == 0 ? "-" : n.Roles, n.Vms.ToString(),
            Size(n.UsedMemoryBytes), Size(n.CapacityMemoryBytes), n.UsedVcpus.ToString(), n.CapacityVcpus.ToString(),
        }));
    }

    /// <summary>One VM in detail (actorvmm stat --cluster).</summary>
    public static string Stat(VmInfo vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        return $"name: {vm.Name}\nstate: {vm.State}\nbackend: {vm.Backend}\nmemory: {SizeParser.Format(vm.MemoryBytes)}\ncpus: {vm.Vcpus}\nexits: {vm.Exits}\nrestarts: {vm.Restarts}\nnode: {vm.Node}\n"
            + (vm.Message is { } message ? $"message: {message}\n" : string.Empty);
    }

    /// <summary>HOST:PORT of an Akka address (akka.tcp://name@HOST:PORT), or the text as it is.</summary>
    public static string ShortNode(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        int at = address.LastIndexOf('@');
        return at < 0 ? address : address[(at + 1)..];
    }

    private static string Size(ulong bytes) => bytes == 0 ? "0" : SizeParser.Format(bytes);

    private static string Table(string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToList();
        int[] widths = [.. Enumerable.Range(0, header.Length).Select(c => all.Max(r => r[c].Length))];
        return string.Concat(all.Select(r => string.Join("  ", r.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd() + Environment.NewLine));
    }
}
