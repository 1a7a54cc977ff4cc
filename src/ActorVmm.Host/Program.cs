using System.Reflection;
using ActorVmm.Kvm.Traps;

// Placeholder entry point until the host issue lands: prints the version and the (empty) device map.
var version = typeof(TrapTable).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
Console.WriteLine($"actorvmm {version}");
var table = new TrapTable();
foreach (var bus in Enum.GetValues<TrapBus>())
{
    Console.WriteLine($"{bus}: {table.Regions(bus).Count} regions");
}
