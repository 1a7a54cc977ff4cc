using System.Diagnostics;
using System.Globalization;
using ActorVmm.Emulator;
using ActorVmm.Kvm;
using ActorVmm.Machine.Vcpu;
using ActorVmm.KvmLane;

// Usage: ActorVmm.KvmLane [--backend kvm|emulator] [--timeout-seconds N] [--guests-dir DIR]
//        ActorVmm.KvmLane --save-guests DIR
//        ActorVmm.KvmLane --save-bench-guests DIR EXIT_ITERATIONS ALU_ITERATIONS   (bench/emulator-vs-qemu.sh's guests, BenchImages)
//        ActorVmm.KvmLane --check-screenshot FILE.png   (a Linux guest's fbcon screenshot: "SCREENSHOT PASS|FAIL …", exit 0|1)
// Prints, per guest: "TRAP <guest> <access>" lines, then "END <guest> exit=… status=…", and
// "TIME …" and "COALESCED <guest> <writes replayed from KVM's ring>" lines (not compared); on
// KVM also "CHECK <name> PASS|FAIL <detail>" for the KVM-only checks (KvmChecks). Exit code 0 when every guest ended through the
// exit port with status 0, 1 otherwise, 2 on bad arguments or an unavailable backend, 3 when a step hung
// (LaneWatchdog; "LANE-STEP <name>" lines announce each step).
if (args is ["--check-screenshot", var screenshot])
{
    var result = ConsoleScreenshotCheck.CheckFile(screenshot);
    Console.WriteLine(result);
    return result.Passed ? 0 : 1;
}

if (args is ["--save-bench-guests", var benchDir, var exitText, var aluText])
{
    if (!uint.TryParse(exitText, CultureInfo.InvariantCulture, out uint exitIterations) || !uint.TryParse(aluText, CultureInfo.InvariantCulture, out uint aluIterations))
    {
        Console.Error.WriteLine($"iteration counts must be whole numbers, not '{exitText}' and '{aluText}'");
        return 2;
    }

    try
    {
        GuestFiles.SaveImages(benchDir, BenchImages.Build(exitIterations, aluIterations));
    }
    catch (ArgumentOutOfRangeException ex)
    {
        Console.Error.WriteLine(ex.Message);
        return 2;
    }

    return 0;
}

string backend = "kvm";
int timeoutSeconds = 60;
string? guestsDir = null;
string? saveDir = null;
for (int i = 0; i < args.Length; i++)
{
    bool hasValue = i + 1 < args.Length;
    switch (args[i])
    {
        case "--backend" when hasValue:
            backend = args[++i];
            break;
        case "--guests-dir" when hasValue:
            guestsDir = args[++i];
            break;
        case "--save-guests" when hasValue:
            saveDir = args[++i];
            break;
        case "--timeout-seconds" when hasValue && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int seconds):
            timeoutSeconds = seconds;
            i++;
            break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: [--backend kvm|emulator] [--timeout-seconds N] [--guests-dir DIR] | --save-guests DIR | --save-bench-guests DIR EXIT_ITERATIONS ALU_ITERATIONS");
            return 2;
    }
}

if (saveDir is not null)
{
    GuestFiles.Save(saveDir, LaneGuests.All);
    GuestFiles.SaveImages(saveDir, KvmChecks.BuildImages());
    GuestFiles.SaveImages(saveDir, EduImages.Build());
    EduImages.SaveExpected(saveDir);
    return 0;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TIME startup {backend} {(DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds:F0} ms"));
IReadOnlyList<LaneGuest> guests;
IHypervisor hypervisor;
try
{
    guests = guestsDir is null ? LaneGuests.All : GuestFiles.Load(guestsDir);
    if (guestsDir is not null && backend == "kvm")
    {
        KvmChecks.UseImages(GuestFiles.LoadImages(guestsDir, KvmChecks.ImageNames));
    }

    hypervisor = backend switch
    {
        "kvm" => new KvmHypervisor(),
        "emulator" => new EmulatorHypervisor(),
        _ => throw new ArgumentException($"unknown backend '{backend}' (kvm or emulator)"),
    };
}
catch (Exception ex) when (ex is KvmUnavailableException or ArgumentException or InvalidDataException)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

// A step may take its own time limit plus the VM's set-up and tear-down; past that the lane program is stuck.
using var watchdog = new LaneWatchdog(TimeSpan.FromSeconds(timeoutSeconds * 2));
using (hypervisor)
{
    bool allSucceeded = true;
    foreach (var guest in guests)
    {
        watchdog.Begin(guest.Name);
        var trace = GuestTraceRunner.Run(hypervisor, guest, TimeSpan.FromSeconds(timeoutSeconds));
        foreach (string line in trace.Traps)
        {
            Console.WriteLine($"TRAP {guest.Name} {line}");
        }

        Console.WriteLine($"END {guest.Name} {trace.Summary}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TIME {guest.Name} {backend} {trace.Elapsed.TotalMilliseconds:F1} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"COALESCED {guest.Name} {trace.CoalescedWrites}"));
        if (trace.Exit?.Reason == VcpuExitReason.InternalError)
        {
            Console.WriteLine($"ERROR {guest.Name} {trace.Exit.Message} {trace.Exit.Diagnostics}");
        }

        allSucceeded &= trace.Succeeded;
    }

    // KVM features with no emulator counterpart: checked on their own, never diffed.
    if (hypervisor is KvmHypervisor kvm)
    {
        foreach (var (name, check) in KvmChecks.All)
        {
            watchdog.Begin(name);
            var result = check(kvm, TimeSpan.FromSeconds(timeoutSeconds));
            Console.WriteLine($"CHECK {name} {(result.Passed ? "PASS" : "FAIL")} {result.Detail}");
            allSucceeded &= result.Passed;
        }
    }

    watchdog.Begin("end");
    return allSucceeded ? 0 : 1;
}
