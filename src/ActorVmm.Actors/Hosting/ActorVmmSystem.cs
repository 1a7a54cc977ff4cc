using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Vm;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Actors.Hosting;

/// <summary>
/// ActorVmm's actor system without a generic host: what <see cref="ActorVmmHostingExtensions.AddActorVmm"/>
/// sets up through Akka.Hosting (Akka's logs through Microsoft.Extensions.Logging, the VM manager),
/// for a short-lived program such as actorvmm, whose start-up time a host builder, a DI container
/// and hosted services would add to.
/// </summary>
public static class ActorVmmSystem
{
    /// <summary>Routes Akka's own logs to the <see cref="ILoggerFactory"/> of a <see cref="LoggerFactorySetup"/> (Akka.Hosting's bridge).</summary>
    public static readonly string LoggerBridgeHocon = $"akka.loggers = [\"{typeof(LoggerFactoryLogger).AssemblyQualifiedName}\"]";

    /// <summary>Creates and starts the actor system with <paramref name="config"/> and Akka's logs going to <paramref name="loggerFactory"/>.</summary>
    public static ActorSystem Create(string name, Config config, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var bootstrap = BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString(LoggerBridgeHocon).WithFallback(config));
        return ActorSystem.Create(name, ActorSystemSetup.Create(bootstrap, new LoggerFactorySetup(loggerFactory)));
    }

    /// <summary>Starts the host's <see cref="VmManager"/> as <c>/user/vms</c>, with the supervision settings of the system's configuration.</summary>
    public static IActorRef StartVmManager(ActorSystem system, IHypervisor hypervisor, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(system);
        var settings = SupervisionSettings.FromConfig(system.Settings.Config);
        return system.ActorOf(VmManager.Props(hypervisor, loggerFactory, settings), ActorVmmHostingExtensions.VmManagerName);
    }
}
