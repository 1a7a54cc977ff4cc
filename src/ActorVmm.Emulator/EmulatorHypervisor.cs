using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ActorVmm.Emulator;

/// <summary>The software x86 backend: VMs whose vCPUs are interpreters over the Iced decoder.</summary>
public sealed class EmulatorHypervisor : IHypervisor
{
    private readonly ILoggerFactory _loggerFactory;

    /// <summary>Creates the backend.</summary>
    public EmulatorHypervisor(ILoggerFactory? loggerFactory = null)
    {
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
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
        return new EmulatorVm(spec, _loggerFactory);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The backend holds no resources; each VM owns its own.
    }
}
