using System.Net.Sockets;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Hosting;
using ActorVmm.Host.Logging;
using ActorVmm.Host.Terminal;
using ActorVmm.Host.Vms;

namespace ActorVmm.Host.Cli;

/// <summary>
/// <c>actorvmm run</c>: validate everything, start the host, boot one VM with its console on the
/// terminal, and exit with the guest's status. Ctrl-C (SIGINT) and SIGTERM stop the VM cleanly.
/// </summary>
public static class RunCommandHandler
{
    /// <summary>Runs one VM; returns the process exit code.</summary>
    public static async Task<int> RunAsync(RunArguments args, IBackendCatalog catalog, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        RunPlan plan;
        (BackendKind Kind, string Reason) backend;
        try
        {
            plan = RunPlanner.Plan(args, Environment.ProcessId);
            backend = BackendSelector.Select(plan.Backend, catalog);
            RunPlanner.CheckBackendBoots(plan, backend.Kind);
        }
        catch (UsageException ex)
        {
            await error.WriteLineAsync($"actorvmm: {ex.Message}");
            return ExitCodes.Usage;
        }

        using var logger = HostLogging.Create(plan.Logging);
        var log = logger.ForContext("SourceContext", "ActorVmm.Host.Run").ForContext("vm", plan.Name);
        log.Information("Backend {Backend} chosen ({Reason})", backend.Kind.ToName(), backend.Reason);

        using var signals = new StopSignals();
        await using var consoleLog = plan.ConsoleLog is null ? null : new FileStream(plan.ConsoleLog, FileMode.Create, FileAccess.Write, FileShare.Read);
        await using var stdout = Console.OpenStandardOutput();
        Stream[] sinks = [.. new[] { plan.Console == ConsoleMode.Serial ? stdout : null, consoleLog }.OfType<Stream>()];
        await using var console = sinks.Length == 0 ? null : new TeeStream(sinks);
        VmRuntime runtime;
        try
        {
            runtime = await VmRuntime.StartAsync(logger, catalog, backend.Kind, plan.ConfigFile);
        }
        catch (Exception ex) when (ex is IOException or SocketException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"actorvmm: cannot start the host: {ex.Message}");
            return ExitCodes.Unavailable;
        }

        await using (runtime)
        {
            using var terminal = plan.Console == ConsoleMode.Serial ? RawTerminal.EnterIfInteractive() : null;
            IVmHandle vm;
            try
            {
                var spec = new VmLaunchSpec(plan.Name, plan.MemorySize, plan.Cpus, plan.Boot, console) { DebugIoport = plan.DebugIoport, DebugMmio = plan.DebugMmio, Reboot = plan.Reboot };
                vm = await runtime.Fleet.LaunchAsync(spec, CancellationToken.None);
            }
            catch (VmLaunchException ex)
            {
                terminal?.Dispose();
                await error.WriteLineAsync($"actorvmm: {ex.Message}");
                return ExitCodes.VmDied;
            }

            if (plan.Console == ConsoleMode.Serial)
            {
                ConsoleInputPump.Start(vm);
            }

            log.Information("VM {Vm} started: {Image}, {Memory} bytes, {Cpus} vCPU(s) on {Backend}", plan.Name, plan.ImageDescription, plan.MemorySize, plan.Cpus, backend.Kind.ToName());
            var ended = await Task.WhenAny(vm.Completion, signals.Requested);
            bool interrupted = ended != vm.Completion;
            if (interrupted)
            {
                log.Information("Stop requested by signal; stopping VM {Vm}", plan.Name);
                await vm.StopAsync();
            }

            var outcome = await vm.Completion;
            terminal?.Dispose();
            return await ReportAsync(outcome, interrupted, plan.Name, error);
        }
    }

    /// <summary>Turns a VM's end into the process exit code, printing one line when it died.</summary>
    public static async Task<int> ReportAsync(VmOutcome outcome, bool interrupted, string name, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(error);
        switch (outcome.Kind)
        {
            case VmOutcomeKind.ExitPort:
                return outcome.ExitStatus;
            case VmOutcomeKind.Stopped:
                return interrupted ? ExitCodes.Interrupted : ExitCodes.Success;
            case VmOutcomeKind.Reset:
                await error.WriteLineAsync($"actorvmm: VM '{name}' {outcome.Message}");
                return ExitCodes.Success;
            default:
                await error.WriteLineAsync($"actorvmm: VM '{name}' died: {outcome.Message}");
                return ExitCodes.VmDied;
        }
    }
}
