using ActorVmm.Actors.Hosting;
using ActorVmm.Actors.Supervision;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

namespace ActorVmm.Host.Hosting;

/// <summary>
/// Builds the generic host every VM-running command uses: Serilog as the logging provider and the
/// actor system with ActorVmm's configuration (config/akka.hocon, then --config over it), Akka's own
/// logs routed through Microsoft.Extensions.Logging into Serilog, and the host's VmManager.
/// </summary>
public static class VmmHost
{
    /// <summary>The actor system's name.</summary>
    public const string ActorSystemName = "actorvmm";

    /// <summary>The base HOCON shipped next to the program.</summary>
    public static string BaseConfigPath => Path.Combine(AppContext.BaseDirectory, "config", "akka.hocon");

    /// <summary>Builds (does not start) the host over <paramref name="extraHocon"/> (--config text, or null); <paramref name="hypervisor"/> stays owned by the caller.</summary>
    public static IHost Build(Serilog.ILogger logger, string? extraHocon, IHypervisor hypervisor)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSerilog(logger, dispose: false);
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.Services.AddSingleton(hypervisor);
        builder.Services.AddAkka(ActorSystemName, (akka, _) => akka.AddActorVmm(LoadConfig(extraHocon)));
        return builder.Build();
    }

    /// <summary>
    /// Settings the host owns whatever --config says: the commands catch SIGINT/SIGTERM and stop their
    /// VMs before the actor system, so Akka must not run its coordinated shutdown from the CLR's
    /// termination hook (it would take the VM actors away while their vCPUs are being stopped).
    /// </summary>
    public const string HostOwnedHocon = "akka.coordinated-shutdown.run-by-clr-shutdown-hook = off";

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
