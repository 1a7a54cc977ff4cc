using ActorVmm.Actors.Hosting;
using Akka.Event;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;

namespace ActorVmm.Actors.Tests;

/// <summary>A TestKit whose actor system runs with config/akka.hocon (dispatchers, supervision section).</summary>
public abstract class ActorVmmTestKit(ITestOutputHelper output)
    : TestKit(ActorVmmConfig.Load().WithFallback(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING")), "actorvmm-test", output)
{
    /// <summary>Generous upper bound for anything asynchronous in these tests.</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Fails when <paramref name="letters"/> (subscribed to <see cref="AllDeadLetters"/>) receives, within
    /// <paramref name="window"/>, a dead or unhandled message of ActorVmm's own (the TestKit's logger start-up leaves its own).
    /// Suppressed dead letters are left out: their message types declare themselves harmless to lose when the recipient stopped.
    /// </summary>
    protected static void AssertNoDeadLetterOfOurs(TestProbe letters, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(letters);
        var received = letters.ReceiveWhile(window, message => message as AllDeadLetters).OfType<AllDeadLetters>().Where(letter => letter is not SuppressedDeadLetter);
        Assert.DoesNotContain(received, letter => letter.Message.GetType().Namespace?.StartsWith("ActorVmm", StringComparison.Ordinal) == true);
    }
}
