using ActorVmm.Host.Hosting;
using ActorVmm.Host.Logging;
using Akka.Event;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Parsing;
using LogEvent = Serilog.Events.LogEvent;

namespace ActorVmm.Host.Tests.Logging;

public sealed class VmFromActorPathEnricherTests
{
    [Theory]
    [InlineData("akka://actorvmm/user/vms/web-1", "web-1")]
    [InlineData("akka://actorvmm/user/vms/web-1/devices-2/com1", "web-1")]
    [InlineData("akka://actorvmm/user/vms/web-1#12345", "web-1")]
    [InlineData("akka://actorvmm/user/vms/a%20b/console", "a b")]
    public void Vm_name_is_the_path_element_under_the_vm_manager(string path, string vm) =>
        Assert.Equal(vm, VmFromActorPathEnricher.VmName(path));

    [Theory]
    [InlineData("akka://actorvmm/deadLetters")]
    [InlineData("akka://actorvmm/user/vms")]
    [InlineData("akka://actorvmm/user/vms/")]
    [InlineData("akka://actorvmm/user/other/web-1")]
    [InlineData("CoordinatedShutdown (akka://actorvmm)")]
    public void Paths_outside_a_vm_name_no_vm(string path) =>
        Assert.Null(VmFromActorPathEnricher.VmName(path));

    [Fact]
    public void Event_from_a_vm_actor_gets_the_vm_property_and_an_existing_one_is_kept()
    {
        var fromActor = Event(("LogSource", "akka://actorvmm/user/vms/web-1/devices-1"), ("ActorPath", "akka://actorvmm/deadLetters"));
        var alreadyNamed = Event(("LogSource", "akka://actorvmm/user/vms/web-1"), ("vm", "named"));
        var elsewhere = Event(("LogSource", "CoordinatedShutdown (akka://actorvmm)"), ("ActorPath", "akka://actorvmm/deadLetters"));

        foreach (var e in new[] { fromActor, alreadyNamed, elsewhere })
        {
            new VmFromActorPathEnricher().Enrich(e, new PropertyFactory());
        }

        Assert.Equal("web-1", Scalar(fromActor, "vm"));
        Assert.Equal("named", Scalar(alreadyNamed, "vm"));
        Assert.False(elsewhere.Properties.ContainsKey("vm"));
    }

    [Fact]
    public async Task Akka_log_about_a_vm_actor_reaches_serilog_structured_with_the_vm_name()
    {
        // The host's whole path: Akka's logging bus -> Akka.Hosting's logger bridge -> Serilog.
        var sink = new CollectingSink();
        using var logger = new LoggerConfiguration().MinimumLevel.Verbose().Enrich.With<VmFromActorPathEnricher>().WriteTo.Sink(sink).CreateLogger();
        using var loggers = new SerilogLoggerFactory(logger);
        var system = VmmHost.Start(loggers, null);
        try
        {
            Akka.Event.Logging.GetLogger(system, "akka://actorvmm/user/vms/web-1/devices-1/com1").Warning("device {0} misbehaved", "com1");

            var seen = await sink.WaitForAsync(e => e.RenderMessage().Contains("misbehaved", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
            Assert.Equal("web-1", Scalar(seen, "vm"));
            Assert.Equal(LogEventLevel.Warning, seen.Level);
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static LogEvent Event(params (string Name, string Value)[] properties) =>
        new(DateTimeOffset.UnixEpoch, LogEventLevel.Information, null, new MessageTemplateParser().Parse("test"),
            properties.Select(p => new LogEventProperty(p.Name, new ScalarValue(p.Value))));

    private static object? Scalar(LogEvent e, string name) =>
        e.Properties.TryGetValue(name, out var value) && value is ScalarValue scalar ? scalar.Value : null;

    private sealed class PropertyFactory : ILogEventPropertyFactory
    {
        public LogEventProperty CreateProperty(string name, object? value, bool destructureObjects = false) => new(name, new ScalarValue(value));
    }

    private sealed class CollectingSink : ILogEventSink
    {
        private readonly List<LogEvent> _events = [];
        private readonly Lock _lock = new();

        public void Emit(LogEvent logEvent)
        {
            lock (_lock)
            {
                _events.Add(logEvent);
            }
        }

        public async Task<LogEvent> WaitForAsync(Func<LogEvent, bool> match, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                lock (_lock)
                {
                    if (_events.FirstOrDefault(match) is { } found)
                    {
                        return found;
                    }
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("no matching log event: " + string.Join(" | ", Snapshot().Select(e => e.RenderMessage())));
                }

                await Task.Delay(20);
            }
        }

        private List<LogEvent> Snapshot()
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }
}
