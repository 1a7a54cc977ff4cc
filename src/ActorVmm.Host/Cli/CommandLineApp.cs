using System.CommandLine;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Cluster;
using ActorVmm.Host.Fleet;

namespace ActorVmm.Host.Cli;

/// <summary>
/// actorvmm's command line (System.CommandLine), in kvmtool's vocabulary: <c>run</c>, <c>fleet</c>,
/// and the control commands <c>list</c>, <c>stat</c>, <c>pause</c>, <c>resume</c>, <c>stop</c>; for
/// many hosts, <c>node</c> (a cluster member that hosts VMs) and, against a cluster, <c>create</c> and <c>nodes</c>.
/// </summary>
public static class CommandLineApp
{
    /// <summary>Parses and runs; every parse error is one line on stderr and exit code 2.</summary>
    public static async Task<int> RunAsync(string[] args, IBackendCatalog catalog)
    {
        Terminal.TerminalKeypad.ResetAtExit();
        var root = Build(catalog);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            await Console.Error.WriteLineAsync($"actorvmm: {parse.Errors[0].Message} (see 'actorvmm --help')");
            return ExitCodes.Usage;
        }

        // Signals are handled by the commands themselves (a clean VM stop, the terminal restored).
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>Builds the command tree.</summary>
    public static RootCommand Build(IBackendCatalog catalog)
    {
        var root = new RootCommand("actorvmm: an actor-based virtual machine monitor (KVM, or a software x86 emulator)");
        root.Subcommands.Add(RunCommand(catalog));
        root.Subcommands.Add(FleetCommand(catalog));
        root.Subcommands.Add(DtbCommand.Create());
        root.Subcommands.Add(ControlCommands.List());
        root.Subcommands.Add(ControlCommands.Screenshot());
        foreach (string command in new[] { "stat", "pause", "resume", "stop" })
        {
            root.Subcommands.Add(ControlCommands.ForVm(command));
        }

        root.Subcommands.Add(ControlCommands.Create());
        root.Subcommands.Add(ControlCommands.Nodes());
        root.Subcommands.Add(NodeCommand(catalog));

        return root;
    }

    private static Command RunCommand(IBackendCatalog catalog)
    {
        var image = new Option<string>("--image") { Description = "Flat binary loaded at 0x10000 and started in real mode at 1000:0000 (default: the built-in demo guest)" };
        var kernel = new Option<string>("--kernel", "-k") { Description = "Linux bzImage booted through the 64-bit boot protocol (KVM backend)" };
        var initrd = new Option<string>("--initrd", "-i") { Description = "Initial ramdisk for --kernel" };
        var parameters = new Option<string>("--params", "-p") { Description = "Kernel parameters, after the platform's console=ttyS0 reboot=k acpi=off" };
        var reboot = new Option<bool>("--reboot") { Description = "Restart the guest when it resets (reboot, triple fault) instead of ending the VM" };
        var memory = new Option<string>("--mem", "-m") { Description = "Guest RAM with a unit: 64M, 1G (a plain number is MiB)", DefaultValueFactory = _ => RunPlanner.DefaultMemory };
        var cpus = new Option<int>("--cpus", "-c") { Description = "Number of vCPUs", DefaultValueFactory = _ => 1 };
        var name = new Option<string>("--name") { Description = "Guest name for logs and the control socket (default guest-PID)" };
        var backend = new Option<string>("--backend") { Description = "auto (KVM when /dev/kvm opens, else the emulator), kvm or emulator", DefaultValueFactory = _ => "auto" };
        var console = new Option<string>("--console") { Description = "serial (COM1 on this terminal), virtio (a virtio console, hvc0, on this terminal) or none", DefaultValueFactory = _ => "serial" };
        var disks = new Option<string[]>("--disk", "-d") { Description = "Raw disk image as a virtio-blk device, PATH or PATH,ro (repeatable)", AllowMultipleArgumentsPerToken = false };
        var rng = new Option<bool>("--rng") { Description = "Add a virtio-rng device (bytes from the host's CSPRNG)" };
        var networks = new Option<string[]>("--network", "-n")
        {
            Description = "Add a virtio-net card on a host tap: mode=tap,tapif=NAME[,guest_mac=XX:XX:XX:XX:XX:XX] (repeatable, one card each)",
            AllowMultipleArgumentsPerToken = false,
        };
        var virtioConsoleLog = new Option<string>("--virtio-console-log") { Description = "Add a virtio console whose output goes to this file" };
        var virtioTransport = new Option<string>("--virtio-transport") { Description = "Transport of the virtio devices: pci (functions on PCI bus 0, the default) or mmio (virtio-mmio windows, named to Linux with virtio_mmio.device=)", DefaultValueFactory = _ => RunPlanner.DefaultVirtioTransport };
        var consoleLog = new Option<string>("--console-log") { Description = "Also write the guest console to this file" };
        var debugIoport = new Option<bool>("--debug-ioport") { Description = "Log unhandled port I/O" };
        var debugMmio = new Option<bool>("--debug-mmio") { Description = "Log unhandled MMIO" };
        var config = new Option<string>("--config") { Description = "Extra HOCON layered over config/akka.hocon" };
        var vesa = new Option<string>("--vesa")
        {
            Description = $"Add a 32-bpp linear framebuffer (a PCI display function, kvmtool's VESA) of WIDTHxHEIGHT pixels (default {RunPlanner.DefaultVesa})",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var screenshotOnExit = new Option<string>("--screenshot-on-exit") { Description = "Write the framebuffer as a PNG file when the VM ends (needs --vesa)" };
        var vfioPci = new Option<string[]>("--vfio-pci") { Description = "Pass a host PCI device bound to vfio-pci through to the guest: DOMAIN:BUS:DEV.FN (repeatable; KVM backend only)", AllowMultipleArgumentsPerToken = false };
        var experimentalEmulatorLinux = new Option<bool>("--experimental-emulator-linux")
        {
            Description = "Development only: run --kernel on the emulator backend (experimental; needs -p \"noapic nolapic\"; docs/emulator.md)",
            Hidden = true,
        };
        var (logLevel, logFile) = LoggingOptions();

        var command = new Command("run", "Boot one guest with its console on this terminal; exit with the guest's exit status")
        {
            image, kernel, initrd, parameters, reboot, memory, cpus, name, backend, console, consoleLog, disks, rng, networks, virtioConsoleLog, virtioTransport, debugIoport, debugMmio, vesa, screenshotOnExit, config, vfioPci, experimentalEmulatorLinux, logLevel, logFile,
        };
        command.SetAction((parse, _) => RunCommandHandler.RunAsync(
            new RunArguments
            {
                Image = parse.GetValue(image),
                Kernel = parse.GetValue(kernel),
                Initrd = parse.GetValue(initrd),
                Params = parse.GetValue(parameters),
                Reboot = parse.GetValue(reboot),
                Memory = parse.GetValue(memory)!,
                Cpus = parse.GetValue(cpus),
                Name = parse.GetValue(name),
                Backend = parse.GetValue(backend)!,
                Console = parse.GetValue(console)!,
                ConsoleLog = parse.GetValue(consoleLog),
                Disks = parse.GetValue(disks) ?? [],
                Rng = parse.GetValue(rng),
                Networks = parse.GetValue(networks) ?? [],
                VirtioConsoleLog = parse.GetValue(virtioConsoleLog),
                VirtioTransport = parse.GetValue(virtioTransport)!,
                DebugIoport = parse.GetValue(debugIoport),
                DebugMmio = parse.GetValue(debugMmio),
                Config = parse.GetValue(config),
                Vesa = parse.GetResult(vesa) is null ? null : parse.GetValue(vesa) ?? RunPlanner.DefaultVesa,
                ScreenshotOnExit = parse.GetValue(screenshotOnExit),
                VfioPci = parse.GetValue(vfioPci) ?? [],
                ExperimentalEmulatorLinux = parse.GetValue(experimentalEmulatorLinux),
                LogLevel = parse.GetValue(logLevel)!,
                LogFile = parse.GetValue(logFile),
            },
            catalog,
            Console.Error));
        return command;
    }

    private static Command FleetCommand(IBackendCatalog catalog)
    {
        var count = new Option<int>("--count") { Description = "Number of VMs", Required = true };
        var image = new Option<string>("--image") { Description = "Flat binary each VM runs (default: a tiny guest that greets, makes port exits and exits)" };
        var memory = new Option<string>("--mem", "-m") { Description = "Guest RAM per VM", DefaultValueFactory = _ => FleetPlanner.DefaultMemory };
        var backend = new Option<string>("--backend") { Description = "auto, kvm or emulator", DefaultValueFactory = _ => "auto" };
        var hold = new Option<bool>("--hold") { Description = "Keep every VM alive (halted) until all have started, then measure and stop them (density benchmark)" };
        var holdFor = new Option<int>("--hold-for") { Description = "Seconds the halted fleet stays alive after the memory sample, with its idle CPU measured (implies --hold)" };
        var exits = new Option<int>("--exits") { Description = "Port exits each built-in fleet guest makes before it ends", DefaultValueFactory = _ => FleetPlanner.DefaultExits };
        var logDir = new Option<string>("--console-dir") { Description = "Directory for per-VM console logs (default: a new temporary directory)" };
        var namePrefix = new Option<string>("--name-prefix") { Description = "VM names are this plus a four-digit index (names are unique per user across hosts)", DefaultValueFactory = _ => FleetPlanner.DefaultNamePrefix };
        var config = new Option<string>("--config") { Description = "Extra HOCON layered over config/akka.hocon" };
        var (logLevel, logFile) = LoggingOptions();
        var command = new Command("fleet", "Start N VMs in this process with a live status table, then print a summary (with --cluster: create them in the cluster, placed by capacity, and print each node's count)")
        {
            count, image, memory, backend, hold, holdFor, exits, namePrefix, logDir, config, logLevel, logFile,
        };
        var cluster = new ClusterOptions(config);
        cluster.AddTo(command);
        command.SetAction(async (parse, token) =>
        {
            var arguments = new FleetArguments
            {
                Count = parse.GetValue(count),
                Image = parse.GetValue(image),
                Memory = parse.GetValue(memory)!,
                Backend = parse.GetValue(backend)!,
                Hold = parse.GetValue(hold),
                HoldSeconds = parse.GetValue(holdFor),
                Exits = parse.GetValue(exits),
                NamePrefix = parse.GetValue(namePrefix)!,
                ConsoleDirectory = parse.GetValue(logDir),
                Config = parse.GetValue(config),
                LogLevel = parse.GetValue(logLevel)!,
                LogFile = parse.GetValue(logFile),
            };
            var target = await ControlCommands.ReadClusterAsync(parse, cluster);
            if (target.Code is { } code)
            {
                return code;
            }

            if (target.Cluster is not { } c)
            {
                return await FleetCommandHandler.RunAsync(arguments, catalog, Console.Error);
            }

            ClusterFleetPlan plan;
            try
            {
                if (parse.GetResult(backend) is { Implicit: false } || parse.GetResult(hold) is { Implicit: false } || parse.GetResult(holdFor) is { Implicit: false } || parse.GetResult(logFile) is { Implicit: false })
                {
                    throw new UsageException("--backend, --hold, --hold-for and --log-file apply only without --cluster (each node has its own backend and logs)");
                }

                plan = ClusterFleetPlanner.Plan(arguments);
            }
            catch (UsageException ex)
            {
                await Console.Error.WriteLineAsync($"actorvmm: {ex.Message}");
                return ExitCodes.Usage;
            }

            return await ClusterFleet.RunAsync(c, plan, token);
        });
        return command;
    }

    private static Command NodeCommand(IBackendCatalog catalog)
    {
        var seeds = new Option<string>("--seed") { Description = "Seed nodes HOST:PORT[,HOST:PORT...]; a node whose own address is listed is a seed (the first one starts the cluster)", Required = true };
        var port = new Option<int>("--port") { Description = "Cluster transport port", DefaultValueFactory = _ => ActorVmm.Cluster.Node.ClusterNodeOptions.DefaultPort };
        var bind = new Option<string>("--bind") { Description = "Address the transport binds and other nodes reach (loopback by default)", DefaultValueFactory = _ => "127.0.0.1" };
        var capacityMemory = new Option<string>("--capacity-mem") { Description = "Guest RAM this node offers VMs, e.g. 8G (default: the host's RAM)" };
        var capacityVcpus = new Option<int?>("--capacity-vcpus") { Description = "vCPUs this node offers VMs (default: the host's CPUs)" };
        var backend = new Option<string>("--backend") { Description = "auto, kvm or emulator", DefaultValueFactory = _ => "auto" };
        var clusterName = new Option<string>("--cluster-name") { Description = "The cluster's name; nodes and clients of one cluster use the same", DefaultValueFactory = _ => ActorVmm.Cluster.Node.ClusterNodeOptions.DefaultClusterName };
        var stateDir = new Option<string>("--state-dir") { Description = "Directory for the node's durable replicated state (default: $XDG_STATE_HOME/actorvmm/NAME-HOST-PORT)" };
        var config = new Option<string>("--config") { Description = "Extra HOCON layered over config/akka.hocon (TLS, timings)" };
        var logLevel = new Option<string>("--log-level") { Description = "verbose, debug, information, warning, error or fatal (logs go to stderr)", DefaultValueFactory = _ => "information" };
        var logFile = new Option<string>("--log-file") { Description = "Also write logs to this file" };
        var command = new Command("node", "Run a long-lived VM host that joins a cluster (Akka.Cluster); VMs are created with 'actorvmm create|fleet --cluster'")
        {
            seeds, port, bind, capacityMemory, capacityVcpus, backend, clusterName, stateDir, config, logLevel, logFile,
        };
        command.SetAction((parse, _) => NodeCommandHandler.RunAsync(
            new NodeArguments
            {
                Seeds = parse.GetValue(seeds)!,
                Port = parse.GetValue(port),
                Bind = parse.GetValue(bind)!,
                CapacityMemory = parse.GetValue(capacityMemory),
                CapacityVcpus = parse.GetValue(capacityVcpus),
                Backend = parse.GetValue(backend)!,
                ClusterName = parse.GetValue(clusterName)!,
                StateDirectory = parse.GetValue(stateDir),
                Config = parse.GetValue(config),
                LogLevel = parse.GetValue(logLevel)!,
                LogFile = parse.GetValue(logFile),
            },
            catalog,
            Console.Error));
        return command;
    }

    private static (Option<string> Level, Option<string> File) LoggingOptions() =>
        (new Option<string>("--log-level") { Description = "verbose, debug, information, warning, error or fatal (logs go to stderr)", DefaultValueFactory = _ => "warning" },
         new Option<string>("--log-file") { Description = "Also write logs to this file" });
}
