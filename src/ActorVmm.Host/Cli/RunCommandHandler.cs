using ActorVmm.Actors.Console;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Control;
using ActorVmm.Host.Devices;
using ActorVmm.Host.Display;
using ActorVmm.Host.Hosting;
using ActorVmm.Host.Logging;
using ActorVmm.Host.Terminal;
using ActorVmm.Host.Vms;

namespace ActorVmm.Host.Cli;

/// <summary>
/// <c>actorvmm run</c>: validate everything, claim the VM's name, start the host, boot one VM with
/// its console on the terminal, and exit with the guest's status. SIGINT, SIGTERM and SIGHUP stop
/// the VM cleanly and exit with 128 + the signal.
/// </summary>
public static class RunCommandHandler
{
    /// <summary>Runs one VM; returns the process exit code.</summary>
    public static async Task<int> RunAsync(RunArguments args, IBackendCatalog catalog, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);

        // stdout carries the guest console and nothing else: whatever a library prints through
        // Console.Out goes to stderr (the guest console writes to the raw stdout stream).
        Console.SetOut(Console.Error);
        RunPlan plan;
        (BackendKind Kind, string Reason) backend;
        try
        {
            plan = RunPlanner.Plan(args, Environment.ProcessId);
            backend = BackendSelector.Select(plan.Backend, catalog);
            RunPlanner.CheckBackendBoots(plan, backend.Kind);
            RunPlanner.CheckBackendSupports(plan, backend.Kind, backend.Reason);
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
            names.Claim([plan.Name]);
        }
        catch (VmNameInUseException ex)
        {
            await error.WriteLineAsync($"actorvmm: {ex.Message}; choose another --name");
            return ExitCodes.Usage;
        }
        catch (IOException ex)
        {
            await error.WriteLineAsync($"actorvmm: {ex.Message}");
            return ExitCodes.Unavailable;
        }

        using (names)
        {
            DiskImages disks;
            try
            {
                disks = DiskImages.Open(plan.Disks);
            }
            catch (UsageException ex)
            {
                await error.WriteLineAsync($"actorvmm: {ex.Message}");
                return ExitCodes.Usage;
            }

            using (disks)
            {
                NetworkTaps networks;
                try
                {
                    networks = NetworkTaps.Open(plan.Networks);
                }
                catch (UsageException ex)
                {
                    await error.WriteLineAsync($"actorvmm: {ex.Message}");
                    return ExitCodes.Usage;
                }

                using (networks)
                {
                    return await RunClaimedAsync(plan, disks, networks, backend, catalog, controlDirectory, error);
                }
            }
        }
    }

    /// <summary>Turns a VM's end into the process exit code, printing one line when it died.</summary>
    public static async Task<int> ReportAsync(VmOutcome outcome, string name, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(error);
        switch (outcome.Kind)
        {
            case VmOutcomeKind.ExitPort:
                return outcome.ExitStatus;
            case VmOutcomeKind.Stopped:
                return ExitCodes.Success;
            case VmOutcomeKind.Reset:
                await error.WriteLineAsync($"actorvmm: VM '{name}' {outcome.Message}");
                return ExitCodes.Success;
            default:
                await error.WriteLineAsync($"actorvmm: VM '{name}' died: {outcome.Message}");
                return ExitCodes.VmDied;
        }
    }

    /// <summary>Writes --screenshot-on-exit from the frame the VM kept when it ended; false (with one line on stderr) when it cannot.</summary>
    private static async Task<bool> WriteFinalScreenshotAsync(IVmHandle vm, string path, Serilog.ILogger log, TextWriter error)
    {
        if (vm.FinalFrame is not { } frame)
        {
            await error.WriteLineAsync($"actorvmm: --screenshot-on-exit: VM '{vm.Name}' left no framebuffer to capture");
            return false;
        }

        try
        {
            PngScreenshot.Write(frame, path);
            log.Information("Screenshot of VM {Vm} ({Width}x{Height}) written to {Path}", vm.Name, frame.Width, frame.Height, path);
            return true;
        }
        catch (IOException ex)
        {
            await error.WriteLineAsync($"actorvmm: --screenshot-on-exit: {ex.Message}");
            return false;
        }
    }

    private static async Task<int> RunClaimedAsync(RunPlan plan, DiskImages disks, NetworkTaps networks, (BackendKind Kind, string Reason) backend, IBackendCatalog catalog, string controlDirectory, TextWriter error)
    {
        using var logger = HostLogging.Create(plan.Logging);
        var log = logger.ForContext("SourceContext", "ActorVmm.Host.Run").ForContext("vm", plan.Name);
        log.Information("Backend {Backend} chosen ({Reason})", backend.Kind.ToName(), backend.Reason);

        using var signals = new StopSignals();
        HostConsole console;
        try
        {
            console = HostConsole.Open(plan.Console != ConsoleMode.None, plan.ConsoleLog, log, error);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"actorvmm: --console-log '{plan.ConsoleLog}' cannot be written: {ex.Message}");
            return ExitCodes.Usage;
        }

        using var consoleScope = console;
        FileGuestOutput? virtioConsoleLog = null;
        try
        {
            virtioConsoleLog = plan.VirtioConsoleLog is { } path
                ? new FileGuestOutput(path, why => log.Warning("Virtio console log {Path} failed ({Error}); the guest goes on without it", path, why))
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"actorvmm: --virtio-console-log '{plan.VirtioConsoleLog}' cannot be written: {ex.Message}");
            return ExitCodes.Usage;
        }

        using var virtioConsoleLogScope = virtioConsoleLog;
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

        await using (runtime)
        {
            using var terminal = plan.Console != ConsoleMode.None ? RawTerminal.EnterIfInteractive() : null;
            using var vfio = new VfioAttachments();
            try
            {
                vfio.Open(plan.VfioPci);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException)
            {
                terminal?.Dispose();
                await error.WriteLineAsync($"actorvmm: --vfio-pci: {ex.Message}");
                return ExitCodes.Unavailable;
            }

            IVmHandle vm;
            try
            {
                var spec = new VmLaunchSpec(plan.Name, plan.MemorySize, plan.Cpus, plan.Boot, console.Output)
                {
                    DebugIoport = plan.DebugIoport,
                    DebugMmio = plan.DebugMmio,
                    Reboot = plan.Reboot,
                    Platform = RunDevices.Platform(plan, disks, virtioConsoleLog, networks) with { Framebuffer = plan.Framebuffer, PciDevices = vfio.Definitions },
                    ConsoleDevice = RunDevices.ConsoleDevice(plan),
                    CaptureFinalFrame = plan.ScreenshotOnExit is not null,
                };
                vm = await runtime.Fleet.LaunchAsync(spec, CancellationToken.None);
            }
            catch (VmLaunchException ex)
            {
                terminal?.Dispose();
                await error.WriteLineAsync($"actorvmm: {ex.Message}");
                return ExitCodes.VmDied;
            }

            // Stdin is read only as fast as the guest takes it; the pump stops with the VM.
            using var input = plan.Console != ConsoleMode.None ? new ConsoleInputPump(Console.OpenStandardInput(), vm.SendConsoleInputAsync, $"stdin:{vm.Name}") : null;
            input?.Start();

            log.Information("VM {Vm} started: {Image}, {Memory} bytes, {Cpus} vCPU(s) on {Backend}", plan.Name, plan.ImageDescription, plan.MemorySize, plan.Cpus, backend.Kind.ToName());
            var ended = await Task.WhenAny(vm.Completion, signals.Requested, console.Broken);
            if (ended == console.Broken && signals.Received is null)
            {
                // stdout is gone: stop the guest, as a Unix tool ends on EPIPE, instead of letting it print into nothing.
                log.Information("The console's stdout failed; stopping VM {Vm}", plan.Name);
                await vm.StopAsync();
                terminal?.Dispose();
                return await console.Broken;
            }

            if (signals.Received is { } signal)
            {
                log.Information("Stop requested by {Signal}; stopping VM {Vm}", signal, plan.Name);
                try
                {
                    await vm.StopAsync();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // The VM did not take the stop; a second signal ends the process regardless.
                    log.Warning(ex, "VM {Vm} did not stop cleanly", plan.Name);
                }
            }

            var outcome = await vm.Completion;
            terminal?.Dispose();
            bool screenshotFailed = plan.ScreenshotOnExit is { } screenshot && !await WriteFinalScreenshotAsync(vm, screenshot, log, error);

            // One rule for every stop signal, whatever state the VM was in: 128 + the signal.
            int exitCode = signals.Received is { } stoppedBy ? ExitCodes.ForSignal(stoppedBy) : await ReportAsync(outcome, plan.Name, error);

            // A guest that ended well but whose screenshot could not be written is not a success.
            return screenshotFailed && exitCode == ExitCodes.Success ? ExitCodes.IoError : exitCode;
        }
    }
}
