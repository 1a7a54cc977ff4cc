using Serilog.Core;
using Serilog.Events;

namespace ActorVmm.Host.Logging;

/// <summary>
/// Adds <see cref="PropertyName"/>: an event's exception chain on one line ("; ActorInitializationException:
/// Exception during creation ---> OutOfMemoryException: mmap of ... failed"), so a failure logged
/// on stderr is one line, not a stack trace; the full trace goes to --log-file, and to stderr at
/// --log-level debug or verbose. Events without an exception get an empty value.
/// </summary>
public sealed class ExceptionSummaryEnricher : ILogEventEnricher
{
    /// <summary>The property's name in output templates.</summary>
    public const string PropertyName = "ExceptionSummary";

    /// <inheritdoc />
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(propertyFactory);
        logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty(PropertyName, logEvent.Exception is { } ex ? "; " + Summarize(ex) : string.Empty));
    }

    /// <summary>Each exception of the chain as "Type: first line of its message", outermost first.</summary>
    public static string Summarize(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var parts = new List<string>();
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            string message = ex.Message.Split('\n', 2)[0].Trim();
            parts.Add($"{ex.GetType().Name}: {message}");
        }

        return string.Join(" ---> ", parts);
    }
}
