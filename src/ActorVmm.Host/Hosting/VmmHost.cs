using Akka.Configuration;
using Akka.Hosting;
using Akka.Logger.Serilog;
using ActorVmm.Host.Control;
using ActorVmm.Host.Vms;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;

namespace ActorVmm.Host.Hosting;

/// <summary>
/// Builds the generic host every VM-running command uses: Serilog as the logging provider, the
/// actor system (config/akka.hocon plus --config, logging through Serilog), the VM fleet, and the
/// control socket.
/// </summary>
public static class VmmHost
{
    /// <summary>The actor system's name.</summary>
    public const string ActorSystemName = "actorvmm";

    /// <summary>The base HOCON shipped next to the program.</summary>
    public static string BaseConfigPath => Path.Combine(AppContext.BaseDirectory, "config", "akka.hocon");

    /// <summary>Builds (does not start) the host; <paramref name="fleet"/> stays owned by the caller.</summary>
    public static IHost Build(Serilog.ILogger logger, string? extraConfig, IVmFleet fleet, bool control)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSerilog(logger, dispose: false);
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.Services.AddSingleton(fleet);
        builder.Services.AddAkka(ActorSystemName, (akka, _) =>
        {
            if (extraConfig is not null)
            {
                akka.AddHocon(ConfigurationFactory.ParseString(File.ReadAllText(extraConfig)), HoconAddMode.Prepend);
            }

            if (File.Exists(BaseConfigPath))
            {
                akka.AddHocon(ConfigurationFactory.ParseString(File.ReadAllText(BaseConfigPath)), HoconAddMode.Append);
            }

            akka.ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLogger<SerilogLogger>();
            });
        });
        if (control)
        {
            builder.Services.AddSingleton(sp => new ControlServer(
                Path.Combine(ControlPaths.EnsureDirectory(), Environment.ProcessId + ControlPaths.SocketExtension),
                new ControlRequestHandler(sp.GetRequiredService<IVmFleet>(), Environment.ProcessId),
                sp.GetRequiredService<ILogger<ControlServer>>()));
            builder.Services.AddHostedService(sp => sp.GetRequiredService<ControlServer>());
        }

        return builder.Build();
    }

    /// <summary>Checks that an extra HOCON file parses, so a bad --config is bad input (exit 2), not a crash.</summary>
    public static string? ValidateConfig(string path)
    {
        try
        {
            ConfigurationFactory.ParseString(File.ReadAllText(path));
            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return $"config file '{path}' is not valid HOCON: {ex.Message}";
        }
    }
}
