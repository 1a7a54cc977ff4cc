using ActorVmm.Actors.Vm;
using ActorVmm.Machine.Vcpu;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Actors.Hosting;

/// <summary>Akka.Hosting wiring for ActorVmm.</summary>
public static class ActorVmmHostingExtensions
{
    /// <summary>The top-level name of the VM manager actor (<c>/user/vms</c>).</summary>
    public const string VmManagerName = "vms";

    /// <summary>
    /// Adds ActorVmm's configuration (dispatchers, <c>actorvmm.supervision</c>), routes Akka's own
    /// logs through Microsoft.Extensions.Logging (so Serilog, configured by the host, gets them and
    /// nothing is printed to the stdout that guest console output uses), and starts the host's
    /// <see cref="VmManager"/>, registered in the <see cref="ActorRegistry"/> under the key
    /// <see cref="VmManager"/>. The <see cref="IHypervisor"/> comes from the service provider.
    /// </summary>
    /// <param name="builder">The Akka builder.</param>
    /// <param name="config">Configuration to use instead of the embedded config/akka.hocon (the host passes its file).</param>
    public static AkkaConfigurationBuilder AddActorVmm(this AkkaConfigurationBuilder builder, Config? config = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddHocon(config ?? ActorVmmConfig.Load(), HoconAddMode.Prepend)
            .ConfigureLoggers(loggers =>
            {
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            })
            .AddVmManager();
    }

    /// <summary>Starts the host's <see cref="VmManager"/> and registers it under the key <see cref="VmManager"/>.</summary>
    public static AkkaConfigurationBuilder AddVmManager(this AkkaConfigurationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithActors((system, registry, resolver) =>
        {
            var manager = ActorVmmSystem.StartVmManager(system, resolver.GetService<IHypervisor>(), resolver.GetService<ILoggerFactory>());
            registry.Register<VmManager>(manager);
        });
    }
}
