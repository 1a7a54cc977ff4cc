using ActorVmm.Host.Cli;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace ActorVmm.Host.Logging;

/// <summary>
/// Serilog for the host: every level goes to stderr (stdout belongs to the guest console and to
/// command output), optionally to a file, with structured properties (vm, device, bus, address)
/// rendered after the message.
/// </summary>
public static class HostLogging
{
    /// <summary>The line format on stderr and in files: time, level, source, message, then the structured properties.</summary>
    public const string Template = "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {SourceContext}: {Message:lj} {Properties:j}{NewLine}{Exception}";

    /// <summary>Creates the process logger and makes it Serilog's static logger (which Akka's Serilog logger writes to).</summary>
    public static Logger Create(LogSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(settings.Level)
            .Enrich.FromLogContext()
            .Enrich.With<VmFromActorPathEnricher>()
            .WriteTo.Console(outputTemplate: Template, standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: null);
        if (settings.File is not null)
        {
            configuration = configuration.WriteTo.File(settings.File, outputTemplate: Template, formatProvider: null);
        }

        var logger = configuration.CreateLogger();
        Log.Logger = logger;
        return logger;
    }
}
