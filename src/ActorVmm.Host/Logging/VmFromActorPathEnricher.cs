using ActorVmm.Actors.Hosting;
using Serilog.Core;
using Serilog.Events;

namespace ActorVmm.Host.Logging;

/// <summary>
/// Gives Akka's own log events about a VM's actors (a VM actor, its devices, its console sink) the
/// same <c>vm</c> property the host's and the VM layer's events carry, taken from the actor path
/// Akka logs with them (<c>akka://actorvmm/user/vms/NAME/...</c>): the log source, which is the
/// logging actor's path, else the actor path the logger bridge adds.
/// </summary>
public sealed class VmFromActorPathEnricher : ILogEventEnricher
{
    /// <summary>The property Akka's logger bridge puts an event's source in (an actor's path when an actor logged).</summary>
    public const string LogSourceProperty = "LogSource";

    /// <summary>The property Akka's logger bridge puts the sending actor's path in.</summary>
    public const string ActorPathProperty = "ActorPath";

    /// <summary>The property that names the VM an event is about.</summary>
    public const string VmProperty = "vm";

    private const string ManagerSegment = "/user/" + ActorVmmHostingExtensions.VmManagerName + "/";

    /// <inheritdoc />
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(propertyFactory);
        if ((VmNameOf(logEvent, LogSourceProperty) ?? VmNameOf(logEvent, ActorPathProperty)) is { } name)
        {
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty(VmProperty, name));
        }
    }

    private static string? VmNameOf(LogEvent logEvent, string property) =>
        logEvent.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: { } path }
            ? VmName(path.ToString() ?? string.Empty)
            : null;

    /// <summary>The VM an actor path belongs to, or null when the actor is not under the VM manager.</summary>
    public static string? VmName(string actorPath)
    {
        ArgumentNullException.ThrowIfNull(actorPath);
        int start = actorPath.IndexOf(ManagerSegment, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += ManagerSegment.Length;
        int end = actorPath.IndexOfAny(['/', '#'], start);
        string name = end < 0 ? actorPath[start..] : actorPath[start..end];
        return name.Length == 0 ? null : Uri.UnescapeDataString(name);
    }
}
