using ActorVmm.Actors.Hosting;
using ActorVmm.Actors.Supervision;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Host.Hosting;

/// <summary>
/// Starts the actor system every VM-running command uses: ActorVmm's configuration
/// (config/akka.hocon, then --config over it) with Akka's own logs routed through
/// Microsoft.Extensions.Logging into Serilog. No generic host: for a command that may live well
/// under a second, its builder, DI container and hosted services were start-up time spent on nothing
/// the command uses (bench/startup.sh).
/// </summary>
public static class VmmHost
{
    /// <summary>The actor system's name.</summary>
    public const string ActorSystemName = "actorvmm";

    /// <summary>The base HOCON shipped next to the program.</summary>
    public static string BaseConfigPath => Path.Combine(AppContext.BaseDirectory, "config", "akka.hocon");

    /// <summary>Creates and starts the actor system, its logs going to <paramref name="loggers"/>; the caller terminates it.</summary>
    public static ActorSystem Start(ILoggerFactory loggers, string? extraHocon) =>
        ActorVmmSystem.Create(ActorSystemName, LoadConfig(extraHocon), loggers);

    /// <summary>
    /// Settings the host owns whatever --config says: the commands catch SIGINT/SIGTERM and stop their
    /// VMs before the actor system, so Akka must not run its coordinated shutdown from the CLR's
    /// termination hook (it would take the VM actors away while their vCPUs are being stopped); and
    /// stdout is the guest console, so Akka's minimal logger (used before the Serilog bridge is up and
    /// after it is removed at shutdown) writes to stderr.
    /// </summary>
    public const string HostOwnedHocon = $"""
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        akka.stdout-logger-class = "{StandardErrorLogger.ConfigValue}"
        """;

    /// <summary>config/akka.hocon as shipped (embedded copy when the file is missing), with <paramref name="extraHocon"/> (the --config text) layered over it.</summary>
    public static Config LoadConfig(string? extraHocon)
    {
        var config = File.Exists(BaseConfigPath) ? ActorVmmConfig.LoadFile(BaseConfigPath) : ActorVmmConfig.Load();
        if (extraHocon is not null)
        {
            config = ConfigurationFactory.ParseString(extraHocon).WithFallback(config);
        }

        return ConfigurationFactory.ParseString(HostOwnedHocon).WithFallback(config);
    }

    /// <summary>
    /// Checks that --config text makes a configuration the host can run with, so a bad one is bad
    /// input (one line, exit 2) instead of a trace from a half-started host. It applies what the host
    /// will apply: the project's own settings (actorvmm.supervision), then an actor system built from
    /// the merged configuration (scheduler tick, dispatchers) that resolves every dispatcher the
    /// project uses. Returns the message, or null when the configuration is usable.
    /// </summary>
    public static string? ValidateConfig(string hocon, string path)
    {
        Config config;
        try
        {
            config = LoadConfig(hocon);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return $"config file '{path}' is not valid HOCON: {OneLine(ex)}";
        }

        try
        {
            SupervisionSettings.FromConfig(config);
            var quiet = ConfigurationFactory.ParseString("akka.loglevel = OFF\nakka.stdout-loglevel = OFF");
            using var system = ActorSystem.Create(ActorSystemName + "-config-check", quiet.WithFallback(config));
            try
            {
                foreach (string dispatcher in new[] { SupervisionSettings.DeviceDispatcherId, SupervisionSettings.BlockingIoDispatcherId })
                {
                    if (system.Dispatchers.HasDispatcher(dispatcher))
                    {
                        system.Dispatchers.Lookup(dispatcher);
                    }
                }
            }
            finally
            {
                system.Terminate().Wait(ConfigCheckShutdown);
            }

            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return $"config file '{path}' cannot be used: {OneLine(ex)}";
        }
    }

    private static readonly TimeSpan ConfigCheckShutdown = TimeSpan.FromSeconds(5);

    /// <summary>The innermost cause's message, on one line (Akka wraps the useful one in TargetInvocationException and ConfigurationException).</summary>
    private static string OneLine(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null && inner is System.Reflection.TargetInvocationException or ConfigurationException or TypeInitializationException)
        {
            inner = inner.InnerException;
        }

        return string.Join(' ', inner.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
