using ActorVmm.Host.Cli;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace ActorVmm.Host.Logging;

/// <summary>
/// Serilog for the host: every level goes to stderr (stdout belongs to the guest console and to
/// command output), optionally to a file, with structured properties (vm, device, bus, address)
/// rendered after the message. On stderr an exception is one line unless the level is debug or
/// verbose; files always get the stack trace.
/// </summary>
public static class HostLogging
{
    /// <summary>The line format in files (and on stderr at debug and verbose): time, level, source, message, the structured properties, then any stack trace.</summary>
    public const string Template = "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {SourceContext}: {Message:lj} {Properties:j}{NewLine}{Exception}";

    /// <summary>The line format on stderr otherwise: one line per event, an exception summarized at its end.</summary>
    public const string OneLineTemplate = "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {SourceContext}: {Message:lj} {Properties:j}{" + ExceptionSummaryEnricher.PropertyName + ":l}{NewLine}";

    /// <summary>The property that names the cluster node an event comes from (actorvmm node).</summary>
    public const string NodeProperty = "node";

    /// <summary>Creates the process logger and makes it Serilog's static logger (which Akka's Serilog logger writes to).</summary>
    public static Logger Create(LogSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(settings.Level)
            .Enrich.FromLogContext()
            .Enrich.With<VmFromActorPathEnricher>()
            .WriteTo.Logger(stderr => stderr
                .Enrich.With<ExceptionSummaryEnricher>()
                .WriteTo.Console(outputTemplate: settings.Level <= LogEventLevel.Debug ? Template : OneLineTemplate, standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: null));
        if (settings.Node is not null)
        {
            configuration = configuration.Enrich.WithProperty(NodeProperty, settings.Node);
        }

        if (settings.File is not null)
        {
            configuration = configuration.WriteTo.File(settings.File, outputTemplate: Template, formatProvider: null);
        }

        var logger = configuration.CreateLogger();
        Log.Logger = logger;
        return logger;
    }
}
