using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Emulator;

/// <summary>The software x86 backend: VMs whose vCPUs are interpreters over the Iced decoder.</summary>
public sealed class EmulatorHypervisor : IHypervisor
{
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;

    /// <summary>Creates the backend.</summary>
    /// <param name="loggerFactory">Loggers; none when null.</param>
    /// <param name="time">The time base of every VM's TSC and APIC timers; the system clock (the VM actor's default, which the PIT reads) when null.</param>
    public EmulatorHypervisor(ILoggerFactory? loggerFactory = null, TimeProvider? time = null)
    {
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The backend name used in logs and <see cref="IVirtualMachine.Backend"/>.</summary>
    public const string BackendName = "emulator";

    /// <inheritdoc />
    public string Name => BackendName;

    /// <inheritdoc />
    public IVirtualMachine CreateVm(VmSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        return new EmulatorVm(spec, _loggerFactory, _time);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The backend holds no resources; each VM owns its own.
    }
}
