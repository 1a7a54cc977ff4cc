using ActorVmm.Actors.Devices;
using ActorVmm.Kvm.Machine;

namespace ActorVmm.Host.Vms.Machine;

/// <summary>
/// The x86 legacy devices of guest-conventions.md for the machine-level runner. Devices come from
/// the device branches (16550A, i8042, RTC, PIC, PIT); until they are part of the build this set is
/// empty and the guest sees an empty bus everywhere but the host-owned exit and POST ports.
/// </summary>
public sealed class LegacyDeviceSet : IDeviceSet
{
    /// <inheritdoc />
    public IReadOnlyList<IDevice> Create(IVirtualMachine vm, Stream? console) => [];
}
