using ActorVmm.Actors.Devices;
using ActorVmm.Host.Devices;
using ActorVmm.Kvm.Machine;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Host.Vms.Machine;

/// <summary>The PC legacy devices (<see cref="PcDevices"/>) for the machine-level runner, on the system clock.</summary>
public sealed class LegacyDeviceSet : IDeviceSet
{
    private readonly ILoggerFactory _loggers;

    /// <summary>Creates the set; device logs go through <paramref name="loggers"/>.</summary>
    public LegacyDeviceSet(ILoggerFactory loggers) => _loggers = loggers ?? throw new ArgumentNullException(nameof(loggers));

    /// <inheritdoc />
    public IReadOnlyList<IDevice> Create(IVirtualMachine vm, Stream? console, IVmPowerRequests power) =>
        PcDevices.Create(vm, new SerialOutputStream(console), power, TimeProvider.System, _loggers.CreateLogger("ActorVmm.Devices.Legacy"));
}
