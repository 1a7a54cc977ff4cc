using ActorVmm.Actors.Hosting;
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
    public static ActorSystem Start(ILoggerFactory loggers, string? extraConfig) =>
        ActorVmmSystem.Create(ActorSystemName, LoadConfig(extraConfig), loggers);

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

    /// <summary>config/akka.hocon as shipped (embedded copy when the file is missing), with <paramref name="extraConfig"/> layered over it.</summary>
    public static Config LoadConfig(string? extraConfig)
    {
        var config = File.Exists(BaseConfigPath) ? ActorVmmConfig.LoadFile(BaseConfigPath) : ActorVmmConfig.Load();
        if (extraConfig is not null)
        {
            config = ConfigurationFactory.ParseString(File.ReadAllText(extraConfig)).WithFallback(config);
        }

        return ConfigurationFactory.ParseString(HostOwnedHocon).WithFallback(config);
    }

    /// <summary>Checks that an extra HOCON file parses, so a bad --config is bad input (exit 2), not a crash.</summary>
    public static string? ValidateConfig(string path)
    {
        try
        {
            ConfigurationFactory.ParseString(File.ReadAllText(path)).WithFallback(ActorVmmConfig.Load());
            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return $"config file '{path}' is not valid HOCON: {ex.Message}";
        }
    }
}
