using ActorVmm.Actors.Devices;
using ActorVmm.Kvm.Machine;

namespace ActorVmm.Host.Vms.Machine;

/// <summary>Builds the legacy devices of one VM (UART, RTC, i8042, PIC, PIT) for the machine-level runner.</summary>
public interface IDeviceSet
{
    /// <summary>Creates the VM's devices; COM1's output goes to <paramref name="console"/> (null: discarded); exit and reset requests to <paramref name="power"/>.</summary>
    IReadOnlyList<IDevice> Create(IVirtualMachine vm, Stream? console, IVmPowerRequests power);
}
