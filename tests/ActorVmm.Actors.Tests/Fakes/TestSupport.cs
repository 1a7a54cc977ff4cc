using System.Collections.Concurrent;
using ActorVmm.Devices;
using ActorVmm.Machine.Memory;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Actors.Tests.Fakes;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Guest output collected in memory, in arrival order.</summary>
public sealed class CollectingOutput : IGuestOutput
{
    private readonly ConcurrentQueue<byte> _bytes = new();

    public byte[] Bytes => [.. _bytes];

    public void Write(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            _bytes.Enqueue(b);
        }
    }
}

/// <summary>Records power requests.</summary>
public sealed class RecordingPower : IVmPowerRequests
{
    public ConcurrentQueue<int> Exits { get; } = new();

    public int Resets;

    public void RequestStop(int exitStatus, PowerRequestSource source) => Exits.Enqueue(exitStatus);

    public void RequestReset(PowerRequestSource source) => Interlocked.Increment(ref Resets);
}

/// <summary>One captured log entry with its structured properties.</summary>
public sealed record CapturedLog(LogLevel Level, string Message, Exception? Exception, IReadOnlyDictionary<string, object?> Properties);

/// <summary>An ILoggerFactory that keeps every entry and its structured properties.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<CapturedLog> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(Entries);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(ConcurrentQueue<CapturedLog> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.ToDictionary(p => p.Key, p => p.Value)
                : [];
            entries.Enqueue(new CapturedLog(logLevel, formatter(state, exception), exception, properties));
        }
    }
}

public static class DeviceEnvironments
{
    public static DeviceEnvironment For(FakeVirtualMachine vm, IGuestOutput? output = null, IVmPowerRequests? power = null, TimeProvider? time = null) =>
        new(vm.Name, vm.Interrupts.GetSource, time ?? TimeProvider.System, output ?? new CollectingOutput(), power ?? new RecordingPower(), new GuestDma(vm.Memory));
}
