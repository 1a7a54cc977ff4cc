using ActorVmm.Machine.Interrupts;
using ActorVmm.Machine.Memory;
using ActorVmm.Machine.Passthrough;
using ActorVmm.Machine.Vcpu;

namespace ActorVmm.Devices;

/// <summary>
/// What a VM offers every device: its interrupt lines, a clock, the guest console output, the
/// power control and checked access to guest RAM. Shared by all devices of a VM and by every incarnation of a device.
/// </summary>
/// <param name="VmName">The VM's name, for logs.</param>
/// <param name="InterruptLines">
/// Returns an owner's own source on a GSI, given (gsi, owner): <see cref="IInterruptRouter.GetSource"/> of the VM's
/// <see cref="IVirtualMachine.Interrupts"/>. The GSI's level is the OR of its sources.
/// </param>
/// <param name="Time">The clock devices use (a fake one in tests).</param>
/// <param name="Output">Where guest console output goes (the VM's console sink).</param>
/// <param name="Power">How a device asks for a VM exit, shutdown or reset.</param>
/// <param name="Dma">Device access to guest RAM: bounds-checked, RAM only, refused once the VM's memory is closed.</param>
/// <param name="InterruptController">Where a userspace PIC plugs in; null when the backend has an in-kernel irqchip.</param>
/// <param name="Doorbells">The VM's doorbell notifiers (<see cref="IVirtualMachine.Doorbells"/>); null where a device takes its notifications through its trap handler.</param>
/// <param name="Passthrough">What the backend offers passed-through devices (KVM); null when it offers nothing (the emulator).</param>
public sealed record DeviceEnvironment(
    string VmName,
    Func<int, string, IInterruptLine> InterruptLines,
    TimeProvider Time,
    IGuestOutput Output,
    IVmPowerRequests Power,
    GuestDma Dma,
    InterruptControllerSlot? InterruptController = null,
    IDoorbells? Doorbells = null,
    IPassthroughHost? Passthrough = null);
