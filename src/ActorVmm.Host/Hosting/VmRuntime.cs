using ActorVmm.Actors.Hosting;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Control;
using ActorVmm.Host.Vms;
using ActorVmm.Host.Vms.Actors;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Logging;

namespace ActorVmm.Host.Hosting;

/// <summary>
/// Everything a VM-running command holds: the backend, the actor system, the fleet of VM
/// actors and the control socket. Disposal stops them in reverse order: control socket, VMs, actor
/// system, backend.
/// </summary>
public sealed class VmRuntime : IAsyncDisposable
{
    private readonly SerilogLoggerFactory _loggers;
    private readonly IHypervisor _hypervisor;
    private readonly ActorSystem _system;
    private ControlServer? _control;
    private IVmFleet? _fleet;

    private VmRuntime(SerilogLoggerFactory loggers, IHypervisor hypervisor, ActorSystem system)
    {
        _loggers = loggers;
        _hypervisor = hypervisor;
        _system = system;
    }

    /// <summary>The VMs.</summary>
    public IVmFleet Fleet => _fleet ?? throw new InvalidOperationException("the runtime is not started");

    /// <summary>Starts the backend, the actor system and the control socket in <paramref name="controlDirectory"/> (checked by <see cref="ControlPaths.EnsureDirectory"/>).</summary>
    /// <exception cref="IOException">The control socket cannot be created.</exception>
    public static async Task<VmRuntime> StartAsync(Serilog.ILogger logger, IBackendCatalog catalog, BackendKind backend, string? extraHocon, string controlDirectory)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var loggers = new SerilogLoggerFactory(logger);
        var hypervisor = catalog.Create(backend, loggers);
        ActorSystem system;
        try
        {
            system = VmmHost.Start(loggers, extraHocon);
        }
        catch
        {
            hypervisor.Dispose();
            loggers.Dispose();
            throw;
        }

        var runtime = new VmRuntime(loggers, hypervisor, system);
        try
        {
            runtime._fleet = new ActorVmFleet(system, ActorVmmSystem.StartVmManager(system, hypervisor, loggers));

            string socket = Path.Combine(controlDirectory, Environment.ProcessId + ControlPaths.SocketExtension);
            runtime._control = new ControlServer(socket, new ControlRequestHandler(runtime._fleet, Environment.ProcessId), loggers.CreateLogger<ControlServer>());
            await runtime._control.StartAsync(CancellationToken.None);
            return runtime;
        }
        catch
        {
            await runtime.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_control is not null)
        {
            await _control.DisposeAsync();
        }

        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
        }

        await _system.Terminate();
        _hypervisor.Dispose();
        _loggers.Dispose();
    }
}
