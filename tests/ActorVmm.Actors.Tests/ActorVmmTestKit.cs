using ActorVmm.Actors.Hosting;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

/// <summary>A TestKit whose actor system runs with config/akka.hocon (dispatchers, supervision section).</summary>
public abstract class ActorVmmTestKit(ITestOutputHelper output)
    : TestKit(ActorVmmConfig.Load().WithFallback(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING")), "actorvmm-test", output)
{
    /// <summary>Generous upper bound for anything asynchronous in these tests.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
}
