using System.Collections.Concurrent;
using System.Diagnostics;
using ActorVmm.Kvm.Machine;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Host.Vms.Machine;

/// <summary>
/// <see cref="IVmFleet"/> straight over a backend's <see cref="IHypervisor"/>, without actors:
/// the host's fallback runner and the lowest-overhead path for density measurements.
/// </summary>
public sealed class MachineVmFleet : IVmFleet
{
    private readonly IHypervisor _hypervisor;
    private readonly IDeviceSet _devices;
    private readonly ILoggerFactory _loggers;
    private readonly ConcurrentDictionary<string, MachineVm> _byName = new(StringComparer.Ordinal);
    private readonly List<MachineVm> _ordered = [];
    private readonly Lock _orderLock = new();

    /// <summary>Creates a fleet over one hypervisor (owned: disposed with the fleet).</summary>
    public MachineVmFleet(IHypervisor hypervisor, IDeviceSet devices, ILoggerFactory loggers)
    {
        _hypervisor = hypervisor ?? throw new ArgumentNullException(nameof(hypervisor));
        _devices = devices ?? throw new ArgumentNullException(nameof(devices));
        _loggers = loggers ?? throw new ArgumentNullException(nameof(loggers));
    }

    /// <inheritdoc />
    public IReadOnlyList<IVmHandle> Vms
    {
        get
        {
            lock (_orderLock)
            {
                return [.. _ordered];
            }
        }
    }

    /// <inheritdoc />
    public IVmHandle? Find(string name) => _byName.GetValueOrDefault(name);

    /// <inheritdoc />
    public Task<IVmHandle> LaunchAsync(VmLaunchSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        cancellationToken.ThrowIfCancellationRequested();
        long created = Stopwatch.GetTimestamp();
        IVirtualMachine vm;
        try
        {
            vm = _hypervisor.CreateVm(new VmSpec(spec.Name, spec.MemorySize, spec.VcpuCount));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or OutOfMemoryException)
        {
            throw new VmLaunchException($"cannot create VM '{spec.Name}': {ex.Message}", ex);
        }

        var handle = new MachineVm(vm, created, _loggers.CreateLogger("ActorVmm.Vm." + spec.Name));
        if (!_byName.TryAdd(spec.Name, handle))
        {
            handle.Dispose();
            throw new VmLaunchException($"a VM called '{spec.Name}' already exists");
        }

        try
        {
            handle.Start(spec, _devices.Create(vm, spec.Console, handle));
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException or InvalidOperationException)
        {
            _byName.TryRemove(spec.Name, out _);
            handle.Dispose();
            throw new VmLaunchException($"cannot start VM '{spec.Name}': {ex.Message}", ex);
        }

        lock (_orderLock)
        {
            _ordered.Add(handle);
        }

        return Task.FromResult<IVmHandle>(handle);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        MachineVm[] vms;
        lock (_orderLock)
        {
            vms = [.. _ordered];
            _ordered.Clear();
        }

        await Task.WhenAll(vms.Select(vm => Task.Run(vm.Dispose)));
        _byName.Clear();
        _hypervisor.Dispose();
    }
}
