using ActorVmm.Actors.Vm;
using ActorVmm.Host.Backends;
using ActorVmm.Host.Control;
using ActorVmm.Host.Vms;
using ActorVmm.Host.Vms.Actors;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog.Extensions.Logging;

namespace ActorVmm.Host.Hosting;

/// <summary>
/// Everything a VM-running command holds: the backend, the generic host with the actor system, the
/// fleet of VM actors and the control socket. Disposal stops them in reverse order:
/// control socket, VMs, host, backend.
/// </summary>
public sealed class VmRuntime : IAsyncDisposable
{
    private readonly SerilogLoggerFactory _loggers;
    private readonly IHypervisor _hypervisor;
    private readonly IHost _host;
    private ControlServer? _control;
    private IVmFleet? _fleet;

    private VmRuntime(SerilogLoggerFactory loggers, IHypervisor hypervisor, IHost host)
    {
        _loggers = loggers;
        _hypervisor = hypervisor;
        _host = host;
    }

    /// <summary>The VMs.</summary>
    public IVmFleet Fleet => _fleet ?? throw new InvalidOperationException("the runtime is not started");

    /// <summary>Starts the backend, the host and the control socket in <paramref name="controlDirectory"/> (checked by <see cref="ControlPaths.EnsureDirectory"/>).</summary>
    /// <exception cref="IOException">The control socket cannot be created.</exception>
    public static async Task<VmRuntime> StartAsync(Serilog.ILogger logger, IBackendCatalog catalog, BackendKind backend, string? extraHocon, string controlDirectory)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var loggers = new SerilogLoggerFactory(logger);
        var hypervisor = catalog.Create(backend, loggers);
        var host = VmmHost.Build(logger, extraHocon, hypervisor);
        var runtime = new VmRuntime(loggers, hypervisor, host);
        try
        {
            await StartQuietlyAsync(host);
            var manager = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<VmManager>();
            runtime._fleet = new ActorVmFleet(host.Services.GetRequiredService<ActorSystem>(), manager);

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

    /// <summary>
    /// Starts the host with Console.Out pointing at stderr: stdout belongs to the guest console and
    /// the fleet table, but Akka's standard-out logger (before the host's logger is up) and
    /// Akka.Hosting's start-failure report write to Console.Out.
    /// </summary>
    private static async Task StartQuietlyAsync(IHost host)
    {
        var stdout = Console.Out;
        Console.SetOut(Console.Error);
        try
        {
            await host.StartAsync();
        }
        finally
        {
            Console.SetOut(stdout);
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

        await _host.StopAsync();
        _host.Dispose();
        _hypervisor.Dispose();
        _loggers.Dispose();
    }
}
