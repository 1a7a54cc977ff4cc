using System.Globalization;
using ActorVmm.Emulator;
using ActorVmm.Kvm.Kvm;
using ActorVmm.Kvm.Machine;
using ActorVmm.KvmLane;

// Usage: ActorVmm.KvmLane [--backend kvm|emulator] [--timeout-seconds N]
// Prints, per guest: "TRAP <guest> <access>" lines, then "END <guest> exit=… status=…", and a
// "TIME <guest> <ms>" line (timings are not compared). Exit code 0 when every guest ended
// through the exit port with status 0, 1 otherwise, 2 when the backend is unavailable.
string backend = "kvm";
int timeoutSeconds = 60;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--backend" when i + 1 < args.Length:
            backend = args[++i];
            break;
        case "--timeout-seconds" when i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int seconds):
            timeoutSeconds = seconds;
            i++;
            break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: --backend kvm|emulator [--timeout-seconds N]");
            return 2;
    }
}

IHypervisor hypervisor;
try
{
    hypervisor = backend switch
    {
        "kvm" => new KvmHypervisor(),
        "emulator" => new EmulatorHypervisor(),
        _ => throw new ArgumentException($"unknown backend '{backend}' (kvm or emulator)"),
    };
}
catch (Exception ex) when (ex is KvmUnavailableException or ArgumentException)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

using (hypervisor)
{
    bool allSucceeded = true;
    foreach (var guest in LaneGuests.All)
    {
        var trace = GuestTraceRunner.Run(hypervisor, guest, TimeSpan.FromSeconds(timeoutSeconds));
        foreach (string line in trace.Traps)
        {
            Console.WriteLine($"TRAP {guest.Name} {line}");
        }

        Console.WriteLine($"END {guest.Name} {trace.Summary}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TIME {guest.Name} {backend} {trace.Elapsed.TotalMilliseconds:F1} ms"));
        allSucceeded &= trace.Succeeded;
    }

    return allSucceeded ? 0 : 1;
}
