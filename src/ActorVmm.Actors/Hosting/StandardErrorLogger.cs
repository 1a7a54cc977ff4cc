using Akka.Event;

namespace ActorVmm.Actors.Hosting;

/// <summary>
/// Akka's minimal logger (<c>akka.stdout-logger-class</c>), which Akka uses before its configured
/// loggers start and again after it removes them at shutdown, writing to stderr: stdout is the guest
/// console. Akka's own StandardOutLogger prints there at the shutdown log level whatever
/// <c>akka.stdout-loglevel</c> says.
/// </summary>
public sealed class StandardErrorLogger : MinimalLogger
{
    /// <summary>The value of <c>akka.stdout-logger-class</c> that selects this logger.</summary>
    public const string ConfigValue = "ActorVmm.Actors.Hosting.StandardErrorLogger, ActorVmm.Actors";

    /// <inheritdoc />
    protected override void Log(object message)
    {
        if (message is LogEvent logEvent && Filter is { } filter && !filter.ShouldTryKeepMessage(logEvent, out _))
        {
            return;
        }

        System.Console.Error.WriteLine(message);
    }
}
