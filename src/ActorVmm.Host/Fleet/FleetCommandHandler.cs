using System.Diagnostics;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Cli;
using ActorVmm.Host.Control;
using ActorVmm.Host.Hosting;
using ActorVmm.Host.Logging;
using ActorVmm.Host.Vms;
using ActorVmm.Machine.Boot;
using Spectre.Console;

namespace ActorVmm.Host.Fleet;

/// <summary>
/// <c>actorvmm fleet</c>: start N VMs in this process, show their status live, and print a summary
/// with the density figures (starts/s, create-to-first-instruction, host memory per VM). SIGINT,
/// SIGTERM and SIGHUP stop every VM; the summary is still printed and the exit code is 128 + the signal.
/// </summary>
public static class FleetCommandHandler
{
    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan SettleWait = TimeSpan.FromMilliseconds(200);

    /// <summary>Runs the fleet; returns the process exit code (0 when every VM started and none failed).</summary>
    public static async Task<int> RunAsync(FleetArguments args, IBackendCatalog catalog, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        FleetPlan plan;
        (BackendKind Kind, string Reason) backend;
        try
        {
            plan = FleetPlanner.Plan(args, Environment.ProcessId);
            backend = BackendSelector.Select(plan.Backend, catalog);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"actorvmm: {ex.Message}");
            return ExitCodes.Usage;
        }

        string controlDirectory;
        VmNameRegistry names;
        try
        {
            controlDirectory = ControlPaths.EnsureDirectory();
            names = new VmNameRegistry(controlDirectory);
            names.Claim(plan.VmNames);
        }
        catch (VmNameInUseException ex)
        {
            await error.WriteLineAsync($"actorvmm: {ex.Message}; choose another --name-prefix");
            return ExitCodes.Usage;
        }
        catch (IOException ex)
        {
            await error.WriteLineAsync($"actorvmm: {ex.Message}");
            return ExitCodes.Unavailable;
        }

        using (names)
        {
            return await RunClaimedAsync(plan, backend, catalog, controlDirectory, error);
        }
    }

    private static async Task<int> RunClaimedAsync(FleetPlan plan, (BackendKind Kind, string Reason) backend, IBackendCatalog catalog, string controlDirectory, TextWriter error)
    {
        using var logger = HostLogging.Create(plan.Logging);
        var log = logger.ForContext("SourceContext", "ActorVmm.Host.Fleet");
        log.Information("Backend {Backend} chosen ({Reason})", backend.Kind.ToName(), backend.Reason);
        using var signals = new StopSignals();
        var consoles = new List<ConsoleLogStream>();
        VmRuntime runtime;
        try
        {
            runtime = await VmRuntime.StartAsync(logger, catalog, backend.Kind, plan.ConfigHocon, controlDirectory);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await error.WriteLineAsync($"actorvmm: cannot start the host: {ex.Message}");
            return ExitCodes.Unavailable;
        }

        try
        {
            var fleet = runtime.Fleet;
            var summary = await RunFleetAsync(plan, fleet, consoles, signals.Requested, error, backend.Kind.ToName());
            await Task.WhenAll(fleet.Vms.Select(v => v.RefreshAsync()));
            AnsiConsole.Write(new FleetView().Render(fleet.Vms, plan.Count));
            await Console.Out.WriteAsync(summary.Format(plan.ConsoleDirectory));
            if (signals.Received is { } signal)
            {
                return ExitCodes.ForSignal(signal);
            }

            return summary.Started == plan.Count && summary.Failed == 0 ? ExitCodes.Success : ExitCodes.VmDied;
        }
        finally
        {
            await runtime.DisposeAsync();
            foreach (var console in consoles)
            {
                await console.DisposeAsync();
            }
        }
    }

    private static async Task<FleetSummary> RunFleetAsync(FleetPlan plan, IVmFleet fleet, List<ConsoleLogStream> consoles, Task stop, TextWriter error, string backend)
    {
        HostMemory.Settle();
        var memory = new ResidentPeak();
        memory.Begin();
        int failedLaunches = 0;
        TimeSpan idleCpu = TimeSpan.Zero, idleWall = TimeSpan.Zero;
        int idleVms = 0;
        long? residentAfterEnd = null;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        TimeSpan cpuAtAllRunning = TimeSpan.Zero;
        var wall = Stopwatch.StartNew();
        var view = new FleetView();
        var interactive = AnsiConsole.Profile.Capabilities.Interactive;

        // Launch on a worker so the view can refresh while VMs start. Each VM's launch offset is kept
        // so that its first instruction can be placed on the fleet's time line.
        var launchedAt = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        var launch = Task.Run(async () =>
        {
            for (int i = 0; i < plan.Count && !stop.IsCompleted; i++)
            {
                string name = plan.VmName(i);
                var console = new ConsoleLogStream(Path.Combine(plan.ConsoleDirectory, name + ".log"));
                consoles.Add(console);
                lock (launchedAt)
                {
                    launchedAt[name] = wall.Elapsed;
                }

                try
                {
                    await fleet.LaunchAsync(new VmLaunchSpec(name, plan.MemorySize, 1, new FlatBinaryBoot(plan.Image), console), CancellationToken.None);
                }
                catch (VmLaunchException ex)
                {
                    failedLaunches++;
                    await error.WriteLineAsync($"actorvmm: {ex.Message}");
                }
            }

            return wall.Elapsed;
        });

        async Task<TimeSpan> WaitAsync(Action<IReadOnlyList<IVmHandle>> show)
        {
            await WaitUntilAsync(() => launch.IsCompleted, show);
            var launched = await launch;
            if (plan.Hold)
            {
                // Density mode: every VM stays alive (halted) until all reached their halt; then measure.
                if (await WaitUntilAsync(() => fleet.Vms.All(v => v.TimeToFirstExit is not null || v.Completion.IsCompleted), show))
                {
                    cpuAtAllRunning = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

                    // Every VM is alive: the peak is taken here, before stopping them can lower (or raise) RSS.
                    memory.Sample();
                    await WaitForQuietAsync(fleet, show);
                    HostMemory.Settle();
                    memory.SampleAllAlive();
                    memory.Finish();
                    if (plan.HoldFor > TimeSpan.Zero && !stop.IsCompleted)
                    {
                        idleVms = fleet.Vms.Count(v => !v.Completion.IsCompleted);
                        (idleCpu, idleWall) = await HoldIdleAsync(plan.HoldFor, idleVms, stop, error);
                    }
                }
                else
                {
                    // Stopped by a signal before all ran: the peak so far.
                    memory.Finish();
                }

                await Task.WhenAll(fleet.Vms.Select(v => v.StopAsync()));
            }
            else
            {
                await WaitUntilAsync(() => fleet.Vms.All(v => v.Completion.IsCompleted), show);
                memory.Finish();
            }

            if (!stop.IsCompleted)
            {
                // What ended VMs keep: each stopped VM actor answers status until it is removed; the rest should be back.
                await Task.WhenAll(fleet.Vms.Select(v => v.Completion));
                HostMemory.Settle();
                residentAfterEnd = HostMemory.ResidentBytes();
            }

            show(fleet.Vms);
            return launched;
        }

        async Task<bool> WaitUntilAsync(Func<bool> done, Action<IReadOnlyList<IVmHandle>> show)
        {
            while (!done())
            {
                if (stop.IsCompleted)
                {
                    await Task.WhenAll(fleet.Vms.Select(v => v.StopAsync()));
                    return false;
                }

                memory.Sample();
                var vms = fleet.Vms;
                await Task.WhenAll(vms.Take(FleetView.MaxRows).Select(v => v.RefreshAsync()));
                show(vms);
                await Task.WhenAny(Task.Delay(Refresh), stop);
            }

            return true;
        }

        TimeSpan launchTime;
        if (interactive)
        {
            launchTime = TimeSpan.Zero;
            await AnsiConsole.Live(view.Render([], plan.Count)).StartAsync(async live =>
            {
                launchTime = await WaitAsync(vms => live.UpdateTarget(view.Render(vms, plan.Count)));
            });
        }
        else
        {
            int lastReported = -1;
            launchTime = await WaitAsync(vms =>
            {
                int done = vms.Count(v => v.Completion.IsCompleted);
                if (done != lastReported)
                {
                    lastReported = done;
                    error.WriteLine($"actorvmm fleet: {vms.Count}/{plan.Count} launched, {done} finished");
                }
            });
        }

        wall.Stop();
        var outcomes = fleet.Vms.Where(v => v.Completion.IsCompleted).Select(v => v.Completion.Result).ToList();
        int died = outcomes.Count(o => o.IsFailure || (o.Kind == VmOutcomeKind.ExitPort && o.ExitStatus != 0));
        var firstExits = fleet.Vms.Select(v => v.TimeToFirstExit).OfType<TimeSpan>().ToList();
        var running = fleet.Vms.Where(v => v.TimeToFirstExit is not null).Select(v => launchedAt[v.Name] + v.TimeToFirstExit!.Value).Order().ToList();
        return new FleetSummary(plan.Count, fleet.Vms.Count, failedLaunches + died, wall.Elapsed, launchTime, firstExits, memory.Before, memory.Peak, plan.MemorySize, backend)
        {
            FirstInstructions = running,
            CpuToAllRunning = cpuAtAllRunning,
            ResidentAllAlive = memory.AllAlive,
            IdleCpu = idleCpu,
            IdleWall = idleWall,
            IdleVms = idleVms,
            ResidentAfterEnd = residentAfterEnd,
        };
    }

    /// <summary>
    /// Keeps the halted fleet alive for <paramref name="holdFor"/> (or until a stop signal) without touching it, and
    /// returns the process CPU time spent meanwhile: what idle VMs cost. The line on stderr marks the window for
    /// outside samplers (bench/idle-cpu.sh).
    /// </summary>
    private static async Task<(TimeSpan Cpu, TimeSpan Wall)> HoldIdleAsync(TimeSpan holdFor, int vms, Task stop, TextWriter error)
    {
        await error.WriteLineAsync($"actorvmm fleet: all {vms} VMs halted; holding them idle for {holdFor.TotalSeconds:F0} s");
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        await Task.WhenAny(Task.Delay(holdFor), stop);
        var wall = Stopwatch.GetElapsedTime(start);
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        await error.WriteLineAsync($"actorvmm fleet: idle hold over after {wall.TotalSeconds:F1} s");
        return (cpu, wall);
    }

    /// <summary>Waits until the fleet's exit count stops moving (every VM halted); every VM's counters are refreshed for it.</summary>
    private static async Task WaitForQuietAsync(IVmFleet fleet, Action<IReadOnlyList<IVmHandle>> show)
    {
        long previous = -1;
        while (true)
        {
            var vms = fleet.Vms;
            await Task.WhenAll(vms.Select(v => v.RefreshAsync()));
            long total = vms.Sum(v => v.Counters.Exits);
            if (total == previous)
            {
                return;
            }

            previous = total;
            show(fleet.Vms);
            await Task.Delay(SettleWait);
        }
    }
}
